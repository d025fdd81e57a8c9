#include "session_clock.h"

#include <time.h>

namespace vigil {
namespace {

std::chrono::nanoseconds since_boot() {
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

SessionClock::SessionClock() : wall_at_anchor_(std::chrono::system_clock::now()), boot_at_anchor_(since_boot()) {}

SessionClock::time_point SessionClock::now() const {
    return wall_at_anchor_ +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(since_boot() - boot_at_anchor_);
}

std::chrono::nanoseconds SessionClock::wall_offset() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now() - now());
}

}  // namespace vigil
