#include "server.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "log.h"
#include "request_codec.h"
#include "unix_listener.h"

namespace vigil {
namespace {

// Connections allowed past max_concurrent only to be told "busy". Each costs
// a descriptor, and the busy answer takes microseconds; one dropped here goes
// unanswered (the module waits out its deadline), so the allowance is wide:
// 200 clients at once against 64 workers must all hear back (e2e-load).
constexpr size_t kBusyAllowance = 1024;
constexpr std::chrono::milliseconds kWriteTimeout{2000};

const char* listener_name(Listener l) {
    switch (l) {
        case Listener::Pam: return "pam";
        case Listener::Admin: return "admin";
        case Listener::Grant: return "grant";
    }
    return "?";
}

}  // namespace

Server::Server(ServerOptions options, EngineSource engine)
    : options_(options), engine_(std::move(engine)), grant_requests_(options_.grants, options_.sessions, engine_) {}

Server::~Server() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_.notify_all();
    busy_work_.notify_all();
    for (auto& t : workers_) t.join();
    if (busy_responder_.joinable()) busy_responder_.join();
}

void Server::accept_from(int listen_fd, Listener which) {
    for (;;) {
        UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return;  // EAGAIN: nothing more pending
        auto peer = peer_credentials(conn.get());
        if (!peer) {
            log_warn("{} socket: {}; closing", listener_name(which), peer.error().message);
            continue;
        }
        if (peer->uid != 0 && which != Listener::Grant) {
            log_warn("{} socket: refused peer pid {} uid {}: only root may connect", listener_name(which), peer->pid,
                     peer->uid);
            continue;
        }
        if (which == Listener::Grant && !grant_admission_.admit(peer->uid, peer->pid)) continue;
        Job job{std::move(conn), which, *peer};
        if (answered_at_once(job)) continue;
        dispatch(std::move(job));
    }
}

// An idle worker takes the job; else a new worker is started, up to
// max_concurrent; else it waits in a short line (a worker is usually about
// to finish: a client that just had its answer may reconnect before its
// worker counts itself idle again); else the busy responder answers "busy".
void Server::dispatch(Job job) {
    std::unique_lock lock(mu_);
    size_t line = std::max<size_t>(8, static_cast<size_t>(options_.max_concurrent) / 4);
    std::condition_variable* wake = &work_;
    if (idle_workers_ > static_cast<int>(jobs_.size()) ||
        (static_cast<int>(workers_.size()) < options_.max_concurrent && add_worker()) || jobs_.size() < line) {
        jobs_.push_back(std::move(job));
    } else if (busy_jobs_.size() < kBusyAllowance) {
        busy_jobs_.push_back(std::move(job));
        wake = &busy_work_;
    } else {
        log_warn("{} socket: {} requests waiting to be told busy; dropping peer pid {}", listener_name(job.which),
                 busy_jobs_.size(), job.peer.pid);
        release_grant(job);
        return;
    }
    lock.unlock();
    // One job, one thread woken: each queue has its own condition, so the
    // one woken is always one that serves it.
    wake->notify_one();
}

bool Server::add_worker() {
    try {
        workers_.emplace_back([this] { worker_loop(jobs_, work_, false); });
        ++idle_workers_;
        if (!busy_responder_.joinable()) {
            busy_responder_ = std::thread([this] { worker_loop(busy_jobs_, busy_work_, true); });
        }
        return true;
    } catch (const std::system_error& e) {
        // Out of threads (RLIMIT_NPROC, TasksMax): serve with the workers we have.
        log_error("cannot start a worker thread: {}", e.what());
        return !workers_.empty();
    }
}

void Server::release_grant(const Job& job) {
    if (job.which == Listener::Grant) grant_admission_.release(job.peer.uid);
}

// Logged at the 1st, 2nd, 4th, 8th... busy answer: visible, never a flood.
void Server::note_busy(Listener which, const PeerCredentials& peer) {
    uint64_t n = ++busy_answers_;
    if ((n & (n - 1)) == 0) {
        log_warn(
            "{} socket: all {} workers busy; answered peer pid {} \"busy\" ({} busy answers so "
            "far)",
            listener_name(which), options_.max_concurrent, peer.pid, n);
    }
}

void Server::worker_loop(std::deque<Job>& queue, std::condition_variable& work, bool busy) {
    std::unique_lock lock(mu_);
    for (;;) {
        work.wait(lock, [&] { return stopping_ || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and nothing left in hand
        Job job = std::move(queue.front());
        queue.pop_front();
        if (!busy) --idle_workers_;
        lock.unlock();
        handle(job, busy);
        job.conn.reset();
        release_grant(job);
        lock.lock();
        if (!busy) ++idle_workers_;
    }
}

// A worker's connection: the frame read (bounded by read_timeout), then
// answered. The one place, with answered_at_once, where a connection's
// failures are caught and logged.
void Server::handle(Job& job, bool busy) {
    const PeerCredentials& peer = job.peer;
    std::optional<Frame> frame;
    try {
        auto read = read_frame(job.conn.get(), options_.read_timeout);
        if (!read) {
            log_warn("{} socket: peer pid {}: {}; closing", listener_name(job.which), peer.pid, read.error().message);
            return;
        }
        if (!*read) {
            log_debug("{} socket: peer pid {} closed without a request", listener_name(job.which), peer.pid);
            return;
        }
        frame = std::move(*read);
        const Route* route = find_route(frame->kind, job.which);
        if (route == nullptr) {
            unrouted(job, *frame);
            return;
        }
        if (busy) note_busy(job.which, peer);
        send_answer(job, *frame,
                    busy && job.which == Listener::Pam ? Answer(encode_busy_answer(route->kind))
                                                       : (this->*route->answer)(*frame, peer));
    } catch (const std::exception& e) {
        failed(job, frame ? &*frame : nullptr, e);
    }
}

// On the loop thread, before any worker: a PAM request whose frame has all
// arrived and that can be decided without waiting (Engine::
// identity_without_waiting) is answered here, saving two thread wake-ups
// and a handoff. Anything else is left untouched for a worker.
bool Server::answered_at_once(Job& job) {
    if (job.which != Listener::Pam) return false;
    std::optional<Frame> frame = peek_frame(job.conn.get());
    if (!frame) return false;
    try {
        std::optional<Answer> answer = answer_without_waiting(*frame, job.peer);
        if (!answer) return false;
        take_frame(job.conn.get(), *frame);
        send_answer(job, *frame, std::move(*answer));
        ++answered_at_once_;
    } catch (const std::exception& e) {
        take_frame(job.conn.get(), *frame);
        failed(job, &*frame, e);
    }
    return true;
}

void Server::unrouted(const Job& job, const Frame& frame) {
    log_warn("{} socket: peer pid {}: request kind {:#x} is not served here", listener_name(job.which), job.peer.pid,
             frame.kind);
    if (job.which == Listener::Pam && frame.kind < wire::kAnswerBit) {
        deliver(job, *refuse(frame, job.peer, fmt::format("request kind {:#x} not served", frame.kind)));
    }
}

// A request that was read but not understood: a PAM request is denied and
// recorded (refuse), anything else is closed.
void Server::send_answer(const Job& job, const Frame& frame, Answer answer) {
    if (!answer) {
        log_warn("{} socket: peer pid {}: bad request: {}{}", listener_name(job.which), job.peer.pid,
                 answer.error().message, job.which == Listener::Pam ? "; denied" : "; closing");
        if (job.which != Listener::Pam) return;
        answer = refuse(frame, job.peer, answer.error().message);
    }
    deliver(job, *answer);
}

void Server::failed(const Job& job, const Frame* frame, const std::exception& e) {
    bool deny = job.which == Listener::Pam && frame;
    log_error("{} socket: peer pid {}: {}{}", listener_name(job.which), job.peer.pid, e.what(), deny ? "; denied" : "");
    if (deny) deliver(job, refusal_to(frame->kind, "internal error"));
}

void Server::deliver(const Job& job, const std::vector<uint8_t>& answer) {
    if (auto s = write_frame(job.conn.get(), answer, kWriteTimeout); !s) {
        log_warn("{} socket: peer pid {}: answer not delivered: {}", listener_name(job.which), job.peer.pid,
                 s.error().message);
    }
    ++answered_;
}

}  // namespace vigil
