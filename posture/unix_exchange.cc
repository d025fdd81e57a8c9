#include "unix_exchange.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "deadline_io.h"
#include "unique_fd.h"

namespace vigil::posture {
namespace {

using Clock = std::chrono::steady_clock;

// A full listen backlog makes a non-blocking unix connect fail with EAGAIN
// (not EINPROGRESS); it is retried this often until the deadline.
constexpr auto kBacklogRetry = std::chrono::milliseconds(10);

int64_t deadline_ms(Clock::time_point deadline) {
    // steady_clock is CLOCK_MONOTONIC, the clock of wire/deadline_io.h.
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline.time_since_epoch()).count();
}

// Waits for `events` on fd until the deadline. false on timeout.
Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
    switch (wire::wait_ready(fd, events, deadline_ms(deadline))) {
        case wire::IoStatus::Ok: return true;
        case wire::IoStatus::Timeout: return false;
        case wire::IoStatus::Closed: break;
    }
    return err(fmt::format("poll: {}", std::strerror(errno)));
}

Result<UniqueFd> connect_before(const UnixRequest& r, Clock::time_point deadline) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (r.path.empty() || r.path.size() >= sizeof addr.sun_path) {
        return err(
            fmt::format("socket path \"{}\" is empty or longer than {} bytes", r.path, sizeof addr.sun_path - 1));
    }
    std::memcpy(addr.sun_path, r.path.data(), r.path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return err(fmt::format("socket: {}", std::strerror(errno)));
    for (;;) {
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
        if (errno == EINTR) continue;
        if (errno == EAGAIN && Clock::now() < deadline) {
            std::this_thread::sleep_for(kBacklogRetry);
            continue;
        }
        if (errno != EINPROGRESS) break;
        auto ready = wait_for(fd.get(), POLLOUT, deadline);
        if (!ready) return ready.error();
        if (!*ready) return err(fmt::format("connect to {}: no answer within {} ms", r.path, r.timeout.count()));
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error == 0) return fd;
        errno = so_error;
        break;
    }
    if (errno == ENOENT) return err(fmt::format("no socket at {}", r.path));
    if (errno == ECONNREFUSED) return err(fmt::format("nothing listening on {}", r.path));
    if (errno == EAGAIN) return err(fmt::format("connect to {}: backlog full for {} ms", r.path, r.timeout.count()));
    return err(fmt::format("connect to {}: {}", r.path, std::strerror(errno)));
}

// The uid that listens on the socket, from the kernel, not from anything the
// peer says.
Status check_peer(int fd, const UnixRequest& r) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
        return err(fmt::format("{}: cannot read the peer's credentials: {}", r.path, std::strerror(errno)));
    }
    if (r.peer.trusts_uid(cred.uid)) return Ok{};
    return err(fmt::format("{}: refused: the peer runs as uid {} (pid {}), not {}", r.path, cred.uid, cred.pid,
                           r.peer.described));
}

Status send_before(int fd, const UnixRequest& r, Clock::time_point deadline) {
    switch (wire::send_all_by(fd, r.request.data(), r.request.size(), deadline_ms(deadline))) {
        case wire::IoStatus::Ok: return Ok{};
        case wire::IoStatus::Timeout:
            return err(fmt::format("send to {}: not accepted within {} ms", r.path, r.timeout.count()));
        case wire::IoStatus::Closed: break;
    }
    return err(fmt::format("send to {}: {}", r.path, std::strerror(errno)));
}

Result<std::string> read_before(int fd, const UnixRequest& r, Clock::time_point deadline, const AnswerEnd& end) {
    std::string got;
    char buf[16 * 1024];
    for (;;) {
        auto ready = wait_for(fd, POLLIN, deadline);
        if (!ready) return ready.error();
        if (!*ready) {
            return err(fmt::format("no complete answer from {} within {} ms", r.path, r.timeout.count()));
        }
        // One byte past the cap is enough to know the answer is too large.
        size_t room = r.max_answer + 1 - got.size();
        ssize_t n = ::recv(fd, buf, std::min(sizeof buf, room), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return err(fmt::format("read from {}: {}", r.path, std::strerror(errno)));
        if (n == 0) return got;  // the peer closed: everything it sent is the answer
        size_t fresh_from = got.size();
        got.append(buf, static_cast<size_t>(n));
        if (auto len = end(got, fresh_from); len && *len <= r.max_answer) {
            got.resize(*len);
            return got;
        }
        if (got.size() > r.max_answer) {
            return err(fmt::format("answer from {} is larger than {} bytes", r.path, r.max_answer));
        }
    }
}

}  // namespace

Result<std::string> exchange_unix(const UnixRequest& r, const AnswerEnd& end) {
    auto deadline = Clock::now() + r.timeout;
    auto fd = connect_before(r, deadline);
    if (!fd) return fd.error();
    if (auto trusted = check_peer(fd->get(), r); !trusted) return trusted.error();
    if (auto sent = send_before(fd->get(), r, deadline); !sent) return sent.error();
    return read_before(fd->get(), r, deadline, end);
}

std::optional<size_t> end_at_nul(std::string_view received, size_t fresh_from) {
    size_t nul = received.find('\0', fresh_from);
    if (nul == std::string_view::npos) return std::nullopt;
    return nul;
}

}  // namespace vigil::posture
