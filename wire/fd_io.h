// Whole reads and writes on blocking descriptors (files, pipes, terminals),
// for both sides of the wire: every EINTR is retried and every short count
// continued, so no caller writes that loop again. libc only. Sockets read
// under a deadline poll first (frame_io.h, agent_client.h, unix_exchange.h).
//
//   ssize_t n = vigil::wire::read_full(fd, buf, sizeof buf);  // < sizeof buf: end of file
//   if (!vigil::wire::write_full(fd, text.data(), text.size())) return fail(errno);
#ifndef VIGIL_WIRE_FD_IO_H
#define VIGIL_WIRE_FD_IO_H

#include <errno.h>
#include <unistd.h>

#include <cstddef>

namespace vigil::wire {

// Reads until count bytes or the end of the file. Returns how many were
// read, or -1 with errno set.
inline ssize_t read_full(int fd, void* buf, size_t count) {
    size_t got = 0;
    while (got < count) {
        ssize_t n = ::read(fd, static_cast<char*>(buf) + got, count - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(got);
}

// Writes all count bytes. false with errno set when it could not (a write
// that makes no progress is EIO): some bytes may have been written.
inline bool write_full(int fd, const void* buf, size_t count) {
    size_t done = 0;
    while (done < count) {
        ssize_t n = ::write(fd, static_cast<const char*>(buf) + done, count - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {
            errno = EIO;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace vigil::wire

#endif
