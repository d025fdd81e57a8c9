// How long a terminal has gone without input, for session idle limits.
//
// The kernel stamps a terminal's atime when a process reads input from it
// (what `w` shows as IDLE), but only when the time crosses an 8-second
// boundary, so that the stamp cannot be used to time keystrokes. The last
// input may thus have come up to 8 s after the stamp; idle time is counted
// from the end of the stamp's 8-second window so that a session is never
// taken for idle sooner than it is.
//
//   if (auto idle = tty_idle("/dev/pts/3", system_clock::now()); idle && *idle >= limit) end(...);
#ifndef VIGIL_AGENT_TTY_IDLE_H
#define VIGIL_AGENT_TTY_IDLE_H

#include <chrono>
#include <cstdint>
#include <string>

#include "result.h"

namespace vigil {

// Seconds without input given the terminal's atime and the time now (both
// seconds since the epoch); 0 when the window has not closed yet.
std::chrono::seconds idle_since_input(int64_t atime, int64_t now);

// idle_since_input() of the terminal at path (stat, following nothing).
Result<std::chrono::seconds> tty_idle(const std::string& path, std::chrono::system_clock::time_point now);

}  // namespace vigil

#endif
