// How long a terminal has gone without input, for session idle limits.
//
// The kernel stamps a terminal's atime when a process reads input from it
// (what `w` shows as IDLE), but only when the time crosses an 8-second
// boundary, so that the stamp cannot be used to time keystrokes. The last
// input may thus have come up to 8 s after the stamp; idle time is counted
// from the end of the stamp's 8-second window so that a session is never
// taken for idle sooner than it is.
//
// The terminal belongs to the session's user, who can set its atime to any
// time (touch -a, utimensat). A time in the past only makes the session look
// idle sooner; a time in the future is never a kernel stamp, so it is not
// taken as input: idle time then counts from the last input known otherwise.
//
//   auto atime = tty_atime("/dev/pts/3");
//   if (auto bound = input_bound(*atime, now)) last = std::max(last, *bound);
//   if (idle_since(last, now) >= limit) end(...);
#ifndef VIGIL_SESSIONS_TTY_IDLE_H
#define VIGIL_SESSIONS_TTY_IDLE_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "result.h"

namespace vigil {

// The latest time (seconds since the epoch) input can have come, given the
// terminal's atime and the time now: the end of the stamp's window, or now if
// that is later. Empty when atime lies in the future.
std::optional<int64_t> input_bound(int64_t atime, int64_t now);

// Seconds from the last input to now; 0, never negative, if the clock says
// the input is yet to come (a clock set back).
std::chrono::seconds idle_since(int64_t last_input, int64_t now);

// The atime of the terminal at path (lstat: a terminal, following nothing).
Result<int64_t> tty_atime(const std::string& path);

}  // namespace vigil

#endif
