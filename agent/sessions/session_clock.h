// The clock session limits run on: the wall-clock time vigild started at,
// advanced by CLOCK_BOOTTIME since. A session_max, an idle grace or a
// re-evaluation interval is a duration; an NTP step or an admin's
// `date -s` while a session runs must neither end it early (clock set
// forward) nor stretch it (clock set back). CLOCK_BOOTTIME keeps counting
// through a suspend, as a wall-clock limit would.
//
// Its times are wall-clock-like (they go in sessions.json and in `vigilctl
// sessions`), and drift from the wall clock only by the steps the wall
// clock took since vigild started. A step taken while vigild was stopped is
// not seen: the restarted vigild anchors on the wall clock as it finds it.
//
//   SessionClock clock;
//   auto now = clock.now();                  // compare with max_until
//   auto step = clock.wall_offset();         // the wall clock's steps so far
#ifndef VIGIL_SESSIONS_SESSION_CLOCK_H
#define VIGIL_SESSIONS_SESSION_CLOCK_H

#include <chrono>

namespace vigil {

class SessionClock {
public:
    using time_point = std::chrono::system_clock::time_point;

    SessionClock();

    time_point now() const;
    // The wall clock minus this clock: how far the wall clock was stepped
    // since the anchor (positive: set forward).
    std::chrono::nanoseconds wall_offset() const;

private:
    time_point wall_at_anchor_;
    std::chrono::nanoseconds boot_at_anchor_;
};

}  // namespace vigil

#endif
