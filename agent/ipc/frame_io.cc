#include "frame_io.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;

Status wait_ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return err("timed out");
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r > 0) return Ok{};
        if (r == 0) return err("timed out");
        if (errno != EINTR) return err(fmt::format("poll: {}", strerror(errno)));
    }
}

}  // namespace

// One recv() per arrival into a frame-sized buffer: a request comes in one
// write, so this is usually a single call. Bytes beyond the one frame a
// connection may carry are a protocol violation.
Result<std::optional<Frame>> read_frame(int fd, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::vector<uint8_t> buf(wire::kMaxFrame);
    size_t have = 0;
    size_t want = wire::kHeaderSize;
    wire::Header h;
    while (have < want) {
        if (auto s = wait_ready(fd, POLLIN, deadline); !s) return s.error();
        ssize_t r = ::recv(fd, buf.data() + have, buf.size() - have, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return err(fmt::format("recv: {}", strerror(errno)));
        if (r == 0 && have == 0) return std::optional<Frame>();
        if (r == 0) return err("peer closed the connection mid-frame");
        have += static_cast<size_t>(r);
        if (want == wire::kHeaderSize && have >= wire::kHeaderSize) {
            if (auto hs = wire::parse_header(buf.data(), h); hs != wire::HeaderStatus::Ok) {
                return err(wire::describe(hs));
            }
            want = wire::kHeaderSize + h.length;
        }
    }
    if (have != want) return err("bytes after the frame");
    Frame f{h.kind, std::vector<uint8_t>(buf.begin() + wire::kHeaderSize, buf.begin() + want)};
    return std::optional<Frame>(std::move(f));
}

Status write_frame(int fd, const std::vector<uint8_t>& frame, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    size_t done = 0;
    while (done < frame.size()) {
        if (auto s = wait_ready(fd, POLLOUT, deadline); !s) return s;
        ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return err(fmt::format("send: {}", strerror(errno)));
        done += static_cast<size_t>(n);
    }
    return Ok{};
}

Result<std::vector<uint8_t>> build_frame(wire::Kind kind,
                                         const std::vector<std::pair<wire::Tag, std::string_view>>& fields) {
    std::vector<uint8_t> buf(wire::kMaxFrame);
    wire::Writer w(buf.data(), buf.size());
    for (const auto& [tag, value] : fields) w.put(tag, value);
    size_t n = w.finish(kind);
    if (n == 0) return err("frame larger than the protocol allows");
    buf.resize(n);
    return buf;
}

}  // namespace vigil
