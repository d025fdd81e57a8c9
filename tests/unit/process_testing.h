// Child processes for the session tests, which end them with signals.
//
//   pid_t p = vigil::testing::spawn_waiting(false, false);   // dies on SIGHUP
//   ... end the session of p ...
//   ::waitpid(p, nullptr, 0);
#ifndef VIGIL_TESTS_UNIT_PROCESS_TESTING_H
#define VIGIL_TESTS_UNIT_PROCESS_TESTING_H

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace vigil::testing {

// Sets a child's SIGHUP and SIGTERM dispositions: Catch2 handles SIGTERM in
// the test process, and a child must not inherit that.
inline void child_signals(bool ignore_hup, bool ignore_term) {
    ::signal(SIGHUP, ignore_hup ? SIG_IGN : SIG_DFL);
    ::signal(SIGTERM, ignore_term ? SIG_IGN : SIG_DFL);
}

[[noreturn]] inline void wait_forever() {
    for (;;) ::pause();
}

// A process with the given dispositions that waits for ever. Returns once
// it has set them, so that a signal sent next meets them and not the test
// process's (which ignores SIGHUP when run under nohup). Only
// async-signal-safe calls after fork: the test process may have threads.
inline pid_t spawn_waiting(bool ignore_hup, bool ignore_term) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        child_signals(ignore_hup, ignore_term);
        if (::write(p[1], "x", 1) != 1) ::_exit(1);
        wait_forever();
    }
    ::close(p[1]);
    char ready = 0;
    REQUIRE(::read(p[0], &ready, 1) == 1);
    ::close(p[0]);
    return child;
}

}  // namespace vigil::testing

#endif
