// RFC 3339 timestamps in UTC with milliseconds, as the trail and PDPs want them.
#ifndef VIGIL_BASE_TIMESTAMP_H
#define VIGIL_BASE_TIMESTAMP_H

#include <chrono>
#include <string>

namespace vigil {

std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace vigil

#endif
