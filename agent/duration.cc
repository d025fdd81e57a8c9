#include "duration.h"

#include <fmt/format.h>

#include <cstdint>

namespace vigil {
namespace {

constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;

int64_t unit_seconds(char unit) {
    switch (unit) {
        case 's': return 1;
        case 'm': return 60;
        case 'h': return 3600;
        case 'd': return 86400;
        default: return 0;
    }
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return err(fmt::format("invalid duration \"{}\": {} (use e.g. \"90s\", \"30m\", \"8h\", "
                               "\"1h30m\", \"2d\")",
                               text, why));
    };
    if (text.empty()) return bad("empty");
    int64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        int64_t n = 0;
        size_t digits = 0;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
            n = n * 10 + (text[i] - '0');
            if (n > kMaxSeconds) return bad("too long");
        }
        if (digits == 0) return bad("expected a number");
        if (i == text.size()) return bad("missing unit s, m, h or d");
        int64_t unit = unit_seconds(text[i++]);
        if (unit == 0) return bad("unknown unit");
        total += n * unit;
        if (total > kMaxSeconds) return bad("longer than 366 days");
    }
    if (total == 0) return bad("must be longer than zero");
    return std::chrono::seconds(total);
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
