// fake_agent: a deliberately misbehaving peer on vigild's PAM socket, used
// only to check that pam_vigil.so survives an agent that hangs, hangs up or
// lies on the wire. It is not an agent and decides nothing: every connection
// gets the same scripted answer. The real vigild is tested as itself.
//
//   fake_agent --socket PATH --mode MODE [--hold-ms N]
//
// Modes (answer sent after reading the request frame unless noted):
//   allow            a well-formed allow answer (proves the framing below is right)
//   deny             a well-formed deny whose reason carries terminal escapes
//   unknown-outcome  well-formed, Outcome "maybe"
//   no-outcome       well-formed, no Outcome field
//   bad-magic        header with the wrong magic
//   bad-version      header with version 0xffff
//   oversize         header announcing kMaxPayload + 1 bytes
//   short-header     6 bytes of header, then hang up
//   short-payload    header announcing 64 bytes, 10 sent, then hang up
//   bad-field        field whose length runs past the payload
//   wrong-kind       a valid allow, but answering a different request kind
//   no-answer-bit    a valid allow whose kind lacks the answer bit
//   random           4 KiB of pseudo-random bytes
//   close            hang up without reading or answering
//   hang             read the request, then say nothing for --hold-ms
//   drip             a valid allow, one byte every --hold-ms / 10 ms
//   no-accept        listen (backlog 1) and never accept
//
// Runs until killed. Exit status 2 on a bad command line, 1 if the socket
// cannot be set up.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "protocol.h"

namespace {

namespace wire = vigil::wire;

struct Options {
    std::string socket;
    std::string mode;
    int hold_ms = 5000;
};

bool write_all(int fd, const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// Reads one request frame; returns its kind, or 0 if none arrived within 2 s.
uint16_t read_request(int fd) {
    uint8_t buf[wire::kMaxFrame];
    size_t have = 0, want = wire::kHeaderSize;
    while (have < want) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 2000) <= 0) return 0;
        ssize_t r = recv(fd, buf + have, want - have, 0);
        if (r <= 0) return 0;
        have += static_cast<size_t>(r);
        if (have == wire::kHeaderSize) {
            wire::Header h;
            if (wire::parse_header(buf, h) != wire::HeaderStatus::Ok) return 0;
            want = wire::kHeaderSize + h.length;
        }
    }
    return wire::get_be16(buf + 6);
}

size_t answer_frame(uint8_t* buf, uint16_t kind, std::string_view outcome, std::string_view reason = {}) {
    wire::Writer w(buf, wire::kMaxFrame);
    if (!outcome.empty()) w.put(wire::Tag::Outcome, outcome);
    if (!reason.empty()) w.put(wire::Tag::ReasonUser, reason);
    w.put(wire::Tag::RequestId, "fake-agent-0");
    return w.finish(static_cast<wire::Kind>(kind));
}

void header(uint8_t* p, uint32_t magic, uint16_t version, uint16_t kind, uint32_t len) {
    wire::put_be32(p, magic);
    wire::put_be16(p + 4, version);
    wire::put_be16(p + 6, kind);
    wire::put_be32(p + 8, len);
}

void drip(int fd, const uint8_t* p, size_t n, int step_ms) {
    for (size_t i = 0; i < n; ++i) {
        if (!write_all(fd, p + i, 1)) return;
        usleep(static_cast<useconds_t>(step_ms) * 1000);
    }
}

// Sends this mode's answer to a request of kind `req`.
void respond(int fd, const Options& o, uint16_t req) {
    static uint8_t buf[wire::kMaxFrame];
    static std::mt19937 rng(12345);
    const uint16_t ans = req | wire::kAnswerBit;
    const std::string& m = o.mode;
    size_t n = 0;
    if (m == "allow")
        n = answer_frame(buf, ans, "allow");
    else if (m == "deny")
        n = answer_frame(buf, ans, "deny", "fake says no\x1b[2J\r\nroot# ");
    else if (m == "unknown-outcome")
        n = answer_frame(buf, ans, "maybe");
    else if (m == "no-outcome")
        n = answer_frame(buf, ans, "", "no outcome here");
    else if (m == "wrong-kind")
        n = answer_frame(buf, ans == 0x83 ? 0x84 : 0x83, "allow");
    else if (m == "no-answer-bit")
        n = answer_frame(buf, req, "allow");
    else if (m == "bad-magic") {
        header(buf, 0x56474c32, wire::kVersion, ans, 0);
        n = 12;
    } else if (m == "bad-version") {
        header(buf, wire::kMagic, 0xffff, ans, 0);
        n = 12;
    } else if (m == "oversize") {
        header(buf, wire::kMagic, wire::kVersion, ans, wire::kMaxPayload + 1);
        n = 12;
    } else if (m == "short-header") {
        header(buf, wire::kMagic, wire::kVersion, ans, 0);
        n = 6;
    } else if (m == "short-payload") {
        header(buf, wire::kMagic, wire::kVersion, ans, 64);
        std::memset(buf + 12, 'x', 10);
        n = 22;
    } else if (m == "bad-field") {
        header(buf, wire::kMagic, wire::kVersion, ans, 9);
        wire::put_be16(buf + 12, static_cast<uint16_t>(wire::Tag::Outcome));
        wire::put_be16(buf + 14, 200);  // claims 200 bytes, 5 follow
        std::memcpy(buf + 16, "allow", 5);
        n = 21;
    } else if (m == "random") {
        for (size_t i = 0; i < 4096; ++i) buf[i] = static_cast<uint8_t>(rng());
        n = 4096;
    } else if (m == "hang") {
        usleep(static_cast<useconds_t>(o.hold_ms) * 1000);
    } else if (m == "drip") {
        drip(fd, buf, answer_frame(buf, ans, "allow"), o.hold_ms / 10);
    }
    if (n > 0) write_all(fd, buf, n);
}

const char* const kModes[] = {"allow",       "deny",          "unknown-outcome", "no-outcome",    "bad-magic",
                              "bad-version", "oversize",      "short-header",    "short-payload", "bad-field",
                              "wrong-kind",  "no-answer-bit", "random",          "close",         "hang",
                              "drip",        "no-accept"};

bool known_mode(std::string_view m) {
    for (const char* k : kModes) {
        if (m == k) return true;
    }
    return false;
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view k(argv[i]);
        if (k == "--socket")
            o.socket = argv[i + 1];
        else if (k == "--mode")
            o.mode = argv[i + 1];
        else if (k == "--hold-ms")
            o.hold_ms = std::atoi(argv[i + 1]);
        else
            return false;
    }
    return argc % 2 == 1 && !o.socket.empty() && known_mode(o.mode) && o.hold_ms > 0 &&
           o.socket.size() < sizeof(sockaddr_un{}.sun_path);
}

int listen_on(const std::string& path, int backlog) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    unlink(path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) {
        std::fprintf(stderr, "usage: fake_agent --socket PATH --mode MODE [--hold-ms N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const bool accepts = o.mode != "no-accept";
    int lfd = listen_on(o.socket, accepts ? 16 : 1);
    if (lfd < 0) {
        std::perror("fake_agent: socket");
        return 1;
    }
    std::fprintf(stderr, "fake_agent: %s on %s\n", o.mode.c_str(), o.socket.c_str());
    for (;;) {
        if (!accepts) {
            pause();
            continue;
        }
        int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (o.mode != "close") {
            uint16_t req = read_request(fd);
            if (req != 0) respond(fd, o, req);
        }
        close(fd);
    }
}
