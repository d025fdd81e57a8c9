// CrowdStrike Falcon's Zero Trust Assessment as the sensor leaves it on the
// host: data.zta, a JWT whose payload carries the scores (0-100, higher is
// better) that Okta, Zscaler and others read.
//
//   auto r = parse_falcon_zta(file_text, std::chrono::system_clock::now());
//   // r->values: falcon.zta.overall = "90", falcon.zta.os = "100",
//   //            falcon.zta.sensor_config = "80", falcon.zta.age = "3600"
//
// The payload looks like (other claims ignored):
//   {"iat": 1727769600, "exp": 1728979200, "sub": "<agent id>",
//    "assessment": {"overall": 90, "os": 100, "sensor_config": 80, "version": "3.6.1"}, ...}
//
// falcon.zta.age is the seconds since the token was issued (iat), so a rule
// can require a fresh assessment ("falcon.zta.age < 86400"). A token past
// its exp is an error: its scores are forgotten, never served stale. The
// signature is checked apart, before this runs, when the admin installed
// CrowdStrike's key (jws_signature.h, falcon_collector.h).
#ifndef VIGIL_POSTURE_FALCON_ZTA_H
#define VIGIL_POSTURE_FALCON_ZTA_H

#include <chrono>
#include <string_view>

#include "result.h"
#include "signal_group.h"

namespace vigil::posture {

// An error when the text is not a JWT with an "assessment" object, or the
// token has expired. A score the assessment lacks is a problem, not an error.
Result<Reading> parse_falcon_zta(std::string_view file_text, std::chrono::system_clock::time_point now);

}  // namespace vigil::posture

#endif
