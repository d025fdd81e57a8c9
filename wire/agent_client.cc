#include "agent_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "deadline_io.h"
#include "unique_fd.h"

namespace vigil::wire {
namespace {

// A unix socket whose backlog is full refuses a non-blocking connect with
// EAGAIN and offers nothing to poll on: retry every few milliseconds until
// the deadline, so a busy agent costs at most the budget, not a failure.
ClientStatus connect_agent(int fd, const char* path, int64_t deadline) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    constexpr int64_t kRetryMs = 5;
    for (;;) {
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return ClientStatus::Ok;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return ClientStatus::Unreachable;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) return ClientStatus::Timeout;
        poll(nullptr, 0, static_cast<int>(left < kRetryMs ? left : kRetryMs));
    }
}

ClientStatus status_of(IoStatus s) {
    switch (s) {
        case IoStatus::Ok: return ClientStatus::Ok;
        case IoStatus::Timeout: return ClientStatus::Timeout;
        case IoStatus::Closed: break;
    }
    return ClientStatus::Closed;
}

ClientStatus decode_answer(const uint8_t* payload, size_t len, AgentAnswer& answer) {
    // The answer buffer is reused across a step-up's rounds: nothing from
    // the last answer may survive into this one.
    answer.outcome = answer.reason_user = answer.request_id = answer.session_max_seconds = {};
    answer.challenge_id = answer.prompt = answer.echo = answer.info = {};
    Reader reader(payload, len);
    Tag tag{};
    std::string_view value;
    while (reader.next(tag, value)) {
        switch (tag) {
            case Tag::Outcome: answer.outcome = value; break;
            case Tag::ReasonUser: answer.reason_user = value; break;
            case Tag::RequestId: answer.request_id = value; break;
            case Tag::SessionMaxSeconds: answer.session_max_seconds = value; break;
            case Tag::ChallengeId: answer.challenge_id = value; break;
            case Tag::Prompt: answer.prompt = value; break;
            case Tag::Echo: answer.echo = value; break;
            case Tag::Info: answer.info = value; break;
            default: break;  // optional fields from a newer agent
        }
    }
    if (reader.malformed() || answer.outcome.empty()) return ClientStatus::Garbage;
    return ClientStatus::Ok;
}

}  // namespace

// Reads until one whole frame is in answer.buf: one recv() per arrival
// rather than header and payload separately, since the agent writes the
// frame in one go. Past the deadline, what has already arrived is still
// taken, without waiting: a process that was not scheduled until after its
// deadline (a loaded host) uses the answer vigild sent in time instead of
// its failmode, which may be open while that answer is a deny. Each such
// pass takes bytes or ends, so this stays within the buffer's size.
ClientStatus receive_answer(int fd, Kind kind, int64_t deadline, AgentAnswer& answer) {
    size_t have = 0;
    size_t want = kHeaderSize;
    Header h;
    while (have < want) {
        ClientStatus s = status_of(wait_ready(fd, POLLIN, deadline));
        if (s == ClientStatus::Closed) return s;
        ssize_t r = recv(fd, answer.buf + have, sizeof answer.buf - have, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (s == ClientStatus::Timeout) return s;
            continue;
        }
        if (r <= 0) return ClientStatus::Closed;
        have += static_cast<size_t>(r);
        if (want == kHeaderSize && have >= kHeaderSize) {
            if (parse_header(answer.buf, h) != HeaderStatus::Ok) return ClientStatus::Garbage;
            if (h.kind != static_cast<uint16_t>(answer_to(kind))) return ClientStatus::Garbage;
            want = kHeaderSize + h.length;
        }
    }
    return parse_answer(have, kind, answer);
}

ClientStatus parse_answer(size_t len, Kind kind, AgentAnswer& answer) {
    if (len < kHeaderSize || len > sizeof answer.buf) return ClientStatus::Garbage;
    Header h;
    if (parse_header(answer.buf, h) != HeaderStatus::Ok) return ClientStatus::Garbage;
    if (h.kind != static_cast<uint16_t>(answer_to(kind))) return ClientStatus::Garbage;
    if (len != kHeaderSize + h.length) return ClientStatus::Garbage;  // bytes beyond the one answer
    return decode_answer(answer.buf + kHeaderSize, h.length, answer);
}

const char* describe(ClientStatus s) {
    switch (s) {
        case ClientStatus::Ok: return "ok";
        case ClientStatus::Unreachable: return "agent unreachable";
        case ClientStatus::Timeout: return "agent did not answer in time";
        case ClientStatus::Closed: return "agent closed the connection";
        case ClientStatus::Garbage: return "agent sent a malformed answer";
    }
    return "unknown client status";
}

size_t step_up_answer_frame(std::string_view challenge_id, const char* typed, int budget_ms, uint8_t* buf, size_t cap) {
    Writer w(buf, cap);
    w.put(Tag::ChallengeId, challenge_id);
    w.put(Tag::Response, typed);
    w.put_u64(Tag::BudgetMs, static_cast<uint64_t>(budget_ms));
    return w.finish(Kind::StepUpAnswer);
}

ClientStatus ask_agent(const char* socket_path, int timeout_ms, Kind kind, const uint8_t* frame, size_t frame_len,
                       AgentAnswer& answer) {
    int64_t deadline = monotonic_ms() + timeout_ms;
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return ClientStatus::Unreachable;
    ClientStatus s = connect_agent(fd.get(), socket_path, deadline);
    if (s == ClientStatus::Ok) s = status_of(send_all_by(fd.get(), frame, frame_len, deadline));
    if (s == ClientStatus::Ok) s = receive_answer(fd.get(), kind, deadline, answer);
    return s;
}

}  // namespace vigil::wire
