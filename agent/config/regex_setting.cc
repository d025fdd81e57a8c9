#include "regex_setting.h"

#include <fmt/format.h>

#include <regex>

namespace vigil {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The digits starting at pos, as a number, or nullopt when there are more
// than a bound of that size can need (so the count never overflows).
std::optional<unsigned> digits_at(std::string_view p, size_t& pos) {
    unsigned value = 0;
    size_t start = pos;
    for (; pos < p.size() && is_digit(p[pos]); ++pos) {
        if (pos - start >= 6) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(p[pos] - '0');
    }
    return value;
}

// The `{n}`, `{n,}` or `{n,m}` opening at pos: nullopt when its bounds are
// within kMaxRepeat (or it is no bound at all: the compiler decides that).
std::optional<std::string> repeat_problem(std::string_view p, size_t pos) {
    for (size_t i = pos + 1; i < p.size() && (is_digit(p[i]) || p[i] == ',');) {
        if (p[i] == ',') {
            ++i;
            continue;
        }
        std::optional<unsigned> n = digits_at(p, i);
        if (!n || *n > kMaxRepeat) return fmt::format("a repeat count above {} (at byte {})", kMaxRepeat, pos);
    }
    return std::nullopt;
}

// A scan that knows escapes and bracket expressions, so `\{99999}` and
// `[{99999}]` are literals and not repeat counts.
std::optional<std::string> bounds_problem(std::string_view p) {
    bool in_bracket = false;
    for (size_t i = 0; i < p.size(); ++i) {
        char c = p[i];
        if (c == '\\' && i + 1 < p.size()) {
            size_t j = i + 1;
            std::optional<unsigned> n = digits_at(p, j);
            if (!n || *n > kMaxBackReference) {
                return fmt::format("a back-reference above \\{} (at byte {})", kMaxBackReference, i);
            }
            i = j > i + 1 ? j - 1 : i + 1;
        } else if (in_bracket) {
            in_bracket = c != ']';
        } else if (c == '[') {
            in_bracket = true;  // ECMAScript: `[]` is an empty class, so the next ] always closes
        } else if (c == '{') {
            if (auto why = repeat_problem(p, i)) return why;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> regex_setting_problem(std::string_view pattern) {
    if (pattern.size() > kMaxRegexSetting) {
        return fmt::format("longer than {} bytes ({} bytes)", kMaxRegexSetting, pattern.size());
    }
    if (auto why = bounds_problem(pattern)) return why;
    try {
        std::regex check(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return fmt::format("not a regular expression: {}", e.what());
    }
    return std::nullopt;
}

}  // namespace vigil
