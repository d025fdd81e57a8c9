// The SudoCommand frame vigil_sudo.so sends vigild for one command sudo is
// about to run, built from the vectors sudo hands an approval plugin
// (sudo_plugin(5)): user_info from open(), command_info and run_argv from
// check(). libc only, no allocation: it runs inside setuid sudo.
//
//   uint8_t frame[vigil::wire::kMaxFrame];
//   CommandFrame f = build_command_frame({user_info, command_info, run_argv, 3000, now, getpid(), getppid()},
//                                        x->argv, x->frame);
//   if (f.error) deny(f.error);
#ifndef VIGIL_SUDO_PLUGIN_COMMAND_FRAME_H
#define VIGIL_SUDO_PLUGIN_COMMAND_FRAME_H

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "protocol.h"

namespace vigil::sudo {

// The value of name in a NULL-terminated "name=value" vector (split at the
// first '='), or nullptr when absent or the vector is.
const char* find_value(char* const vec[], const char* name);

struct CommandFacts {
    char* const* user_info;     // the invoker: user, tty, cwd
    char* const* command_info;  // what sudo resolved: command, runas_*, cwd, sudoedit
    char* const* run_argv;      // exactly what sudo will execve()
    int budget_ms;              // the plugin's whole deadline
    int64_t asked_at_ms;        // CLOCK_MONOTONIC as the plugin began to ask
    pid_t pid;                  // sudo's own pid (vigild reads its real uid from /proc)
    pid_t ppid;
};

// At most this much of run_argv is sent; a longer one is cut and flagged
// (ArgvTruncated), and vigild refuses to decide what it has not seen whole.
inline constexpr size_t kMaxArgvBytes = 16 * 1024;

struct CommandFrame {
    size_t len = 0;               // the frame's size in buf; 0 on error
    const char* error = nullptr;  // why there is no frame (a fact sudo did not give)
};

// argv: scratch space for the joined run_argv (not on sudo's stack).
CommandFrame build_command_frame(const CommandFacts& facts, char (&argv)[kMaxArgvBytes],
                                 uint8_t (&buf)[wire::kMaxFrame]);

}  // namespace vigil::sudo

#endif
