#include "falcon_zta.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "json_path.h"
#include "jwt.h"
#include "local_time.h"

namespace vigil::posture {
namespace {

using Clock = std::chrono::system_clock;

// Seconds since the epoch up to the year 2200: anything larger is garbage,
// and past 2262 would overflow system_clock's nanoseconds.
constexpr double kMaxEpochSeconds = 7258118400;

const char* const kScores[] = {"overall", "os", "sensor_config"};

// A NumericDate claim (RFC 7519 §2): absent is fine, malformed is a problem.
Result<std::optional<Clock::time_point>> numeric_date(const nlohmann::json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end()) return std::optional<Clock::time_point>{};
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0 ||
        it->get<double>() > kMaxEpochSeconds) {
        return err(fmt::format("claim {} is not a time (seconds since 1970)", name));
    }
    auto secs = std::chrono::seconds(static_cast<int64_t>(it->get<double>()));
    return std::optional<Clock::time_point>(Clock::time_point(secs));
}

std::string utc_text(Clock::time_point t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(Clock::to_time_t(t)));
}

}  // namespace

Result<Reading> parse_falcon_zta(std::string_view file_text, Clock::time_point now) {
    auto claims = decode_jwt_payload(file_text);
    if (!claims) return err(fmt::format("data.zta: {}", claims.error().message));
    auto exp = numeric_date(*claims, "exp");
    if (!exp) return err(fmt::format("data.zta: {}", exp.error().message));
    if (*exp && now >= **exp) return err(fmt::format("data.zta: the assessment expired at {}", utc_text(**exp)));
    auto assessment = claims->find("assessment");
    if (assessment == claims->end() || !assessment->is_object())
        return err("data.zta: no assessment object in the token");

    Reading r;
    for (const char* score : kScores) {
        auto text = json_path_text(*claims, std::string("assessment.") + score);
        if (text) {
            r.values[std::string("falcon.zta.") + score] = std::move(*text);
        } else {
            r.problems.push_back("data.zta: " + text.error().message);
        }
    }
    auto iat = numeric_date(*claims, "iat");
    if (!iat) {
        r.problems.push_back("data.zta: " + iat.error().message);
    } else if (*iat) {
        r.values["falcon.zta.age"] = std::to_string(seconds_between(**iat, now));
        r.ticking.insert("falcon.zta.age");
    }
    return r;
}

}  // namespace vigil::posture
