#include "frame_io.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "deadline_io.h"

namespace vigil {
namespace {

// The deadline as wire/deadline_io.h counts it: steady_clock is CLOCK_MONOTONIC.
int64_t deadline_ms(std::chrono::milliseconds timeout) { return wire::monotonic_ms() + timeout.count(); }

Status failed(wire::IoStatus s, const char* what) {
    if (s == wire::IoStatus::Timeout) return err("timed out");
    return err(fmt::format("{}: {}", what, strerror(errno)));
}

}  // namespace

// One recv() per arrival into a frame-sized buffer: a request comes in one
// write, so this is usually a single call. Bytes beyond the one frame a
// connection may carry are a protocol violation.
Result<std::optional<Frame>> read_frame(int fd, std::chrono::milliseconds timeout) {
    int64_t deadline = deadline_ms(timeout);
    std::vector<uint8_t> buf(wire::kMaxFrame);
    size_t have = 0;
    size_t want = wire::kHeaderSize;
    wire::Header h;
    while (have < want) {
        if (auto s = wire::wait_ready(fd, POLLIN, deadline); s != wire::IoStatus::Ok) {
            return failed(s, "poll").error();
        }
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

std::optional<Frame> peek_frame(int fd) {
    // One byte more than a frame may hold, so that bytes after it show.
    uint8_t buf[wire::kMaxFrame + 1];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    wire::Header h;
    if (n < static_cast<ssize_t>(wire::kHeaderSize) || wire::parse_header(buf, h) != wire::HeaderStatus::Ok) {
        return std::nullopt;
    }
    if (static_cast<size_t>(n) != wire::kHeaderSize + h.length) return std::nullopt;
    return Frame{h.kind, std::vector<uint8_t>(buf + wire::kHeaderSize, buf + n)};
}

bool frame_coming(int fd) {
    uint8_t buf[wire::kMaxFrame + 1];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) return false;                                     // closed
    if (static_cast<size_t>(n) < wire::kHeaderSize) return true;  // the header's first bytes
    wire::Header h;
    if (wire::parse_header(buf, h) != wire::HeaderStatus::Ok) return false;
    return static_cast<size_t>(n) < wire::kHeaderSize + h.length;
}

void take_frame(int fd, const Frame& peeked) {
    uint8_t buf[wire::kMaxFrame];
    // All of it is in the socket already (peek_frame): one call, no wait.
    (void)::recv(fd, buf, std::min(sizeof buf, wire::kHeaderSize + peeked.payload.size()), MSG_DONTWAIT);
}

Status write_frame(int fd, const std::vector<uint8_t>& frame, std::chrono::milliseconds timeout) {
    auto s = wire::send_all_by(fd, frame.data(), frame.size(), deadline_ms(timeout));
    return s == wire::IoStatus::Ok ? Status(Ok{}) : failed(s, "send");
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
