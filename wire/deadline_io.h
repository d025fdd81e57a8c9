// Waiting and sending on non-blocking sockets under a deadline, for both
// sides of the wire (the module's exchange with vigild, vigild's answers, the
// posture collectors' exchanges with EDR sockets). libc only. Deadlines are
// milliseconds on CLOCK_MONOTONIC, which std::chrono::steady_clock also reads
// on Linux.
//
//   int64_t deadline = vigil::wire::monotonic_ms() + 800;
//   if (vigil::wire::send_all_by(fd, frame, n, deadline) != vigil::wire::IoStatus::Ok) ...
#ifndef VIGIL_WIRE_DEADLINE_IO_H
#define VIGIL_WIRE_DEADLINE_IO_H

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace vigil::wire {

enum class IoStatus {
    Ok,
    Timeout,  // the deadline passed first
    Closed,   // the peer closed, or the socket broke (errno set)
};

inline int64_t monotonic_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits until fd is ready for events or the deadline passes. A deadline
// already past is a timeout without a poll, so no loop around this can spin
// on a socket that keeps saying "ready" but has nothing.
inline IoStatus wait_ready(int fd, short events, int64_t deadline) {
    for (;;) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) return IoStatus::Timeout;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left));
        if (r > 0) return IoStatus::Ok;
        if (r == 0) return IoStatus::Timeout;
        if (errno != EINTR) return IoStatus::Closed;
    }
}

// Sends all n bytes: a send first (a socket is nearly always writable), a
// poll only when it would block. Never raises SIGPIPE.
inline IoStatus send_all_by(int fd, const void* buf, size_t n, int64_t deadline) {
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= static_cast<size_t>(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w == 0 || errno != EAGAIN) return IoStatus::Closed;
        if (IoStatus s = wait_ready(fd, POLLOUT, deadline); s != IoStatus::Ok) return s;
    }
    return IoStatus::Ok;
}

}  // namespace vigil::wire

#endif
