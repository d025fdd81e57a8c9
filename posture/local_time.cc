#include "local_time.h"

#include <ctime>
#include <string>

namespace vigil::posture {
namespace {

constexpr std::time_t kYear2200 = 7258118400;

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_local_time(std::string_view text, const char* format) {
    // Bounded before strptime sees it; no timestamp is longer.
    if (text.size() > 64) return std::nullopt;
    std::string s(text);
    std::tm tm{};
    const char* end = ::strptime(s.c_str(), format, &tm);
    if (!end) return std::nullopt;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') ++end;
    if (*end != '\0') return std::nullopt;
    // Agents write times of this era; far-off years (strptime takes any %Y)
    // would overflow system_clock's nanoseconds, which end in 2262.
    if (tm.tm_year < 70 || tm.tm_year > 300) return std::nullopt;
    tm.tm_isdst = -1;  // let mktime work out summer time for that date
    std::time_t t = std::mktime(&tm);
    if (t < 0 || t > kYear2200) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

int64_t seconds_between(std::chrono::system_clock::time_point then, std::chrono::system_clock::time_point now) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
    return s < 0 ? 0 : static_cast<int64_t>(s);
}

}  // namespace vigil::posture
