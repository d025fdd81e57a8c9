// What clamd answers to VERSION: the engine's version, and the version and
// build time of the signature database it loaded (daily.cvd/.cld).
//
//   auto r = parse_clamd_version("ClamAV 1.0.7/27400/Tue Oct  1 08:00:00 2024", now);
//   // clamd.version = "1.0.7", clamd.signatures = "27400",
//   // clamd.signature_age_days = "3"
//
// A clamd with no daily database answers just "ClamAV 1.0.7": then the two
// signature signals are missing (a problem, not an error). The build time is
// printed by ctime() in clamd's (this host's) time zone.
#ifndef VIGIL_POSTURE_CLAMD_VERSION_H
#define VIGIL_POSTURE_CLAMD_VERSION_H

#include <chrono>
#include <string_view>

#include "result.h"
#include "signal_group.h"

namespace vigil::posture {

// An error when the answer does not start "ClamAV <version>".
Result<Reading> parse_clamd_version(std::string_view answer, std::chrono::system_clock::time_point now);

// Ok when a PING answer is PONG.
Status check_clamd_pong(std::string_view answer);

}  // namespace vigil::posture

#endif
