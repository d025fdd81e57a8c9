#include "duration.h"

#include <fmt/format.h>

#include <cstdint>

namespace vigil {
namespace {

constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;
constexpr int64_t kMaxMillis = kMaxSeconds * 1000;

int64_t unit_seconds(char unit) {
    switch (unit) {
        case 's': return 1;
        case 'm': return 60;
        case 'h': return 3600;
        case 'd': return 86400;
        default: return 0;
    }
}

// Milliseconds in one unit at text[i], advancing i past it; 0 if unknown.
int64_t unit_millis(std::string_view text, size_t& i, bool allow_ms) {
    if (allow_ms && text.substr(i, 2) == "ms") {
        i += 2;
        return 1;
    }
    return unit_seconds(text[i++]) * 1000;
}

Result<int64_t> parse_millis(std::string_view text, bool allow_ms) {
    auto bad = [&](std::string_view why) {
        return err(
            fmt::format("invalid duration \"{}\": {} (use e.g. {}\"90s\", \"30m\", \"8h\", "
                        "\"1h30m\", \"2d\")",
                        text, why, allow_ms ? "\"800ms\", " : ""));
    };
    if (text.empty()) return bad("empty");
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        int64_t n = 0;
        size_t digits = 0;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
            n = n * 10 + (text[i] - '0');
            if (n > kMaxMillis) return bad("too long");
        }
        if (digits == 0) return bad("expected a number");
        if (i == text.size()) return bad(allow_ms ? "missing unit ms, s, m, h or d" : "missing unit s, m, h or d");
        int64_t unit = unit_millis(text, i, allow_ms);
        if (unit == 0) return bad("unknown unit");
        total += n * unit;
        if (total > kMaxMillis) return bad("longer than 366 days");
    }
    if (total == 0) return bad("must be longer than zero");
    return total;
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
    auto ms = parse_millis(text, false);
    if (!ms) return ms.error();
    return std::chrono::seconds(*ms / 1000);
}

Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text) {
    auto ms = parse_millis(text, true);
    if (!ms) return ms.error();
    return std::chrono::milliseconds(*ms);
}

std::string format_duration(std::chrono::seconds d) {
    int64_t s = d.count();
    std::string out;
    for (char unit : {'d', 'h', 'm', 's'}) {
        int64_t u = unit_seconds(unit);
        if (s >= u) {
            out += fmt::format("{}{}", s / u, unit);
            s %= u;
        }
    }
    return out.empty() ? "0s" : out;
}

}  // namespace vigil
