// Timestamps that agents write in the host's local time zone, without one
// (wazuh-agentd's "2024-10-01 08:00:00", clamd's "Tue Oct  1 08:00:00 2024"),
// and the whole-unit ages posture signals carry.
//
//   auto t = parse_local_time("2024-10-01 08:00:00", "%Y-%m-%d %H:%M:%S");
//   if (t) publish("wazuh.keepalive_age", std::to_string(seconds_between(*t, now)));
//
// The writer runs on this host, so this host's zone (TZ, /etc/localtime) is
// the right one to read them in.
#ifndef VIGIL_POSTURE_LOCAL_TIME_H
#define VIGIL_POSTURE_LOCAL_TIME_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::posture {

// std::nullopt unless all of text (bar surrounding blanks) matches the
// strptime format and names a real time.
std::optional<std::chrono::system_clock::time_point> parse_local_time(std::string_view text, const char* format);

// Whole seconds from `then` to `now`; 0 when `then` is in the future (a
// clock a little ahead on the writer's side is not an error).
int64_t seconds_between(std::chrono::system_clock::time_point then, std::chrono::system_clock::time_point now);

}  // namespace vigil::posture

#endif
