#include "clamd_version.h"

#include <string>

#include "local_time.h"

namespace vigil::posture {
namespace {

// Blanks, and the NUL that ends a z-command's answer.
std::string_view trim(std::string_view s) {
    constexpr std::string_view kBlank(" \t\r\n\0", 5);
    size_t b = s.find_first_not_of(kBlank);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 12 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Result<Reading> parse_clamd_version(std::string_view answer, std::chrono::system_clock::time_point now) {
    constexpr std::string_view kPrefix = "ClamAV ";
    answer = trim(answer);
    if (answer.substr(0, kPrefix.size()) != kPrefix) return err("VERSION answer does not start with \"ClamAV \"");
    answer.remove_prefix(kPrefix.size());
    size_t slash = answer.find('/');
    std::string_view engine = answer.substr(0, slash);
    if (engine.empty() || engine.find(' ') != std::string_view::npos)
        return err("VERSION answer has no engine version");

    Reading r;
    r.values["clamd.version"] = std::string(engine);
    if (slash == std::string_view::npos) {
        r.problems.push_back("clamd reports no signature database version");
        return r;
    }
    std::string_view rest = answer.substr(slash + 1);
    size_t slash2 = rest.find('/');
    std::string_view sigs = rest.substr(0, slash2);
    if (all_digits(sigs)) {
        r.values["clamd.signatures"] = std::string(sigs);
    } else {
        r.problems.push_back("signature database version is not a number");
    }
    auto built = slash2 == std::string_view::npos ? std::nullopt
                                                  : parse_local_time(rest.substr(slash2 + 1), "%a %b %d %H:%M:%S %Y");
    if (built) {
        r.values["clamd.signature_age_days"] = std::to_string(seconds_between(*built, now) / 86400);
        r.ticking.insert("clamd.signature_age_days");
    } else {
        r.problems.push_back("signature database build time is missing or unreadable");
    }
    return r;
}

Status check_clamd_pong(std::string_view answer) {
    if (trim(answer) == "PONG") return Ok{};
    return err("PING was not answered PONG");
}

}  // namespace vigil::posture
