#include "server.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/socket.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "log.h"
#include "remote_decision.h"
#include "request_codec.h"
#include "unix_listener.h"

namespace vigil {
namespace {

// Connections in hand waiting for a worker. Each costs a descriptor; one
// refused here goes unanswered (the module waits out its deadline), so the
// bound is wide: 200 clients at once against 64 workers all wait their turn
// (e2e-load).
constexpr size_t kMaxWaiting = 1024;
constexpr std::chrono::milliseconds kWriteTimeout{2000};
const char* listener_name(Listener l) {
    switch (l) {
        case Listener::Pam: return "pam";
        case Listener::Admin: return "admin";
        case Listener::Grant: return "grant";
    }
    return "?";
}

// When a request still waiting for a worker must be answered "busy" instead:
// kBudgetMargin before its module stops listening (timing_of), so the deny
// arrives in time (the module's own timeout would be its failmode, which
// may be open), and no later than a PDP could still be asked
// (pdp_deadline). A frame not in yet counts from its accept, with the
// module's default budget.
std::chrono::steady_clock::time_point answer_by(std::chrono::steady_clock::time_point accepted,
                                                const std::optional<Frame>& frame) {
    ModuleTiming t = frame ? timing_of(*frame, accepted)
                           : ModuleTiming{accepted, std::chrono::milliseconds(wire::kDefaultClientTimeoutMs)};
    return t.asked + std::max(t.budget - kBudgetMargin, std::chrono::milliseconds(0));
}

}  // namespace

Server::Server(ServerOptions options, EngineSource engine)
    : options_(options), engine_(std::move(engine)), grant_requests_(options_.grants, options_.sessions, engine_) {}

Server::~Server() {
    // Frames still coming are read by workers (within read_timeout) and
    // answered before vigild exits: a module that has just connected is not
    // left to its failmode by a restart.
    for (Job& job : arrivals_.release_all()) dispatch(std::move(job));
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    work_.notify_all();
    busy_work_.notify_all();
    for (auto& t : workers_) t.join();  // those that ended idle too, if not joined yet
    if (busy_responder_.joinable()) busy_responder_.join();
}

void Server::accept_from(int listen_fd, Listener which) {
    for (int i = 0; i < kAcceptsPerCall; ++i) {
        UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) return;  // EAGAIN: nothing more pending
        auto accepted = std::chrono::steady_clock::now();
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
        std::optional<Frame> frame;
        if (which == Listener::Pam) frame = peek_frame(conn.get());
        Job job{std::move(conn), which, *peer, accepted, answer_by(accepted, frame), nullptr, std::nullopt};
        if (frame) {
            if (on_loop(job, *frame) == OnLoop::Answered) continue;
        } else if (which == Listener::Pam && frame_coming(job.conn.get())) {
            await_frame(std::move(job));
            continue;
        }
        dispatch(std::move(job));
    }
}

void Server::await_frame(Job job) {
    if (arrivals_.size() >= kMaxWaiting) {
        log_warn("{} socket: {} connections waiting for their request already; dropping peer pid {}",
                 listener_name(job.which), arrivals_.size(), job.peer.pid);
        return;
    }
    int fd = job.conn.get();
    if (!arrivals_.watch(fd, job, job.accepted + options_.read_timeout)) dispatch(std::move(job));
}

// A frame that is all in now is handled as if it had been there at the
// accept; a connection that hung up or sent what is no frame goes to a
// worker, which reads it and says why. A frame still partial waits for more.
void Server::take_arrivals() {
    for (const auto& news : arrivals_.news()) {
        std::optional<Frame> frame = peek_frame(news.conn);
        if (!frame && !news.hung_up && frame_coming(news.conn)) continue;
        std::optional<Job> job = arrivals_.release(news.conn);
        if (!job) continue;
        if (frame) {
            job->answer_by = answer_by(job->accepted, frame);
            if (on_loop(*job, *frame) == OnLoop::Answered) continue;
        }
        dispatch(std::move(*job));
    }
}

void Server::expire_arrivals() {
    for (Job& job : arrivals_.expired(std::chrono::steady_clock::now())) {
        log_warn("{} socket: peer pid {}: no request within {} ms; closing", listener_name(job.which), job.peer.pid,
                 options_.read_timeout.count());
    }
}

// Every job waits its turn; a worker is started for it when none is idle,
// up to max_concurrent. A job that would wait past its answer_by is the
// busy responder's (responder_loop).
void Server::dispatch(Job job) {
    std::unique_lock lock(mu_);
    if (jobs_.size() + busy_jobs_.size() >= kMaxWaiting) {
        log_warn("{} socket: {} requests waiting already; dropping peer pid {}", listener_name(job.which),
                 jobs_.size() + busy_jobs_.size(), job.peer.pid);
        release_grant(job);
        return;
    }
    join_idle_workers();
    if (idle_workers_ <= static_cast<int>(jobs_.size()) &&
        static_cast<int>(workers_.size()) < options_.max_concurrent) {
        add_worker();
    }
    bool sooner = job.answer_by < responder_wakes_;
    jobs_.push_back(std::move(job));
    lock.unlock();
    // One job, one worker woken; the responder only when this job must be
    // answered before the time it planned to look again.
    work_.notify_one();
    if (sooner) busy_work_.notify_one();
}

void Server::add_worker() {
    try {
        workers_.emplace_back([this] { worker_loop(); });
        ++idle_workers_;
        if (!busy_responder_.joinable()) busy_responder_ = std::thread([this] { responder_loop(); });
    } catch (const std::system_error& e) {
        // Out of threads (RLIMIT_NPROC, TasksMax): serve with the workers we
        // have; with none, the responder (if any) answers busy in time.
        log_error("cannot start a worker thread: {}", e.what());
    }
}

// The threads that ended since the last look have left worker_loop (they
// hold nothing, need no lock): joining them takes no time.
void Server::join_idle_workers() {
    for (std::thread::id id : ended_workers_) {
        auto it =
            std::find_if(workers_.begin(), workers_.end(), [id](const std::thread& t) { return t.get_id() == id; });
        if (it == workers_.end()) continue;
        it->join();
        workers_.erase(it);
    }
    ended_workers_.clear();
}

int Server::workers() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(workers_.size() - ended_workers_.size());
}

void Server::release_grant(const Job& job) {
    if (job.which == Listener::Grant) grant_admission_.release(job.peer.uid);
}

// Logged at the 1st, 2nd, 4th, 8th... busy answer: visible, never a flood.
void Server::note_busy(const Job& job) {
    uint64_t n = ++busy_answers_;
    if ((n & (n - 1)) == 0) {
        auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - job.accepted);
        log_warn(
            "{} socket: no worker free for {} ms (max_concurrent {}); answered peer pid {} \"busy\" ({} busy "
            "answers so far)",
            listener_name(job.which), waited.count(), options_.max_concurrent, job.peer.pid, n);
    }
}

void Server::worker_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        bool woken = work_.wait_for(lock, options_.worker_idle, [&] { return stopping_ || !jobs_.empty(); });
        if (!woken) {
            // Idle for worker_idle: end. dispatch starts another if a burst
            // comes back; ~Server or the next dispatch joins this one.
            --idle_workers_;
            ended_workers_.push_back(std::this_thread::get_id());
            lock.unlock();
            // glibc keeps the memory a thread freed in that thread's arena,
            // and an ended thread's arena waits for the next thread: without
            // this, vigild stays at its size under load after a burst. Give
            // back the free pages of every arena.
            malloc_trim(0);
            return;
        }
        if (jobs_.empty()) return;  // stopping, and nothing left in hand
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        --idle_workers_;
        lock.unlock();
        serve(job, std::chrono::steady_clock::now() >= job.answer_by);
        lock.lock();
        ++idle_workers_;
    }
}

// Moves each job still waiting at its answer_by to busy_jobs_ and answers
// it, then sleeps until the next one's.
void Server::responder_loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        responder_wakes_ = std::chrono::steady_clock::time_point::max();
        for (auto it = jobs_.begin(); it != jobs_.end();) {
            if (it->answer_by <= now) {
                busy_jobs_.push_back(std::move(*it));
                it = jobs_.erase(it);
            } else {
                responder_wakes_ = std::min(responder_wakes_, it->answer_by);
                ++it;
            }
        }
        if (busy_jobs_.empty()) {
            if (stopping_) return;  // the workers finish what waits
            if (jobs_.empty()) {
                busy_work_.wait(lock);
            } else {
                busy_work_.wait_until(lock, responder_wakes_);
            }
            continue;
        }
        Job job = std::move(busy_jobs_.front());
        busy_jobs_.pop_front();
        lock.unlock();
        serve(job, true);
        lock.lock();
    }
}

void Server::serve(Job& job, bool busy) {
    if (job.pending) {
        finish_pending(job, busy);
    } else {
        handle(job, busy);
    }
    job.conn.reset();
    release_grant(job);
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
        frame->arrived = timing_of(*frame, job.accepted).asked;
        const Route* route = find_route(frame->kind, job.which);
        if (route == nullptr) {
            unrouted(job, *frame);
            return;
        }
        if (busy) note_busy(job);
        send_answer(job, *frame,
                    busy && job.which == Listener::Pam ? Answer(encode_busy_answer(route->kind))
                                                       : (this->*route->answer)(*frame, peer));
    } catch (const std::exception& e) {
        failed(job, frame ? &*frame : nullptr, e);
    }
}

// A decision the loop began (on_loop) finished by the PDP call, or told
// "busy" when it waited for a worker past its answer_by. Begun on the loop
// means an account request.
void Server::finish_pending(Job& job, bool busy) {
    constexpr wire::Kind kind = wire::Kind::Account;
    try {
        if (busy) {
            note_busy(job);
            deliver(job, encode_busy_answer(kind));
        } else {
            deliver(job, encode_pam_answer(kind, job.engine->decide_pending(std::move(*job.pending))));
        }
    } catch (const std::exception& e) {
        log_error("{} socket: peer pid {}: {}; denied", listener_name(job.which), job.peer.pid, e.what());
        deliver(job, refusal_to(static_cast<uint16_t>(kind), "internal error"));
    }
}

// On the loop thread, before any worker: a PAM request whose frame has all
// arrived and that can be decided without waiting (Engine::
// identity_without_waiting) is answered here, saving two thread wake-ups
// and a handoff; one that needs the PDP is begun here (its frame read)
// and left in job for a worker. Anything else is left untouched, and so is
// a request that reached the loop past its answer_by (its module late to
// ask, or the loop behind): the responder tells it "busy" at once, where
// beginning it would spend the loop's time on an answer that cannot arrive
// in time and make the requests behind it late too. Not so when the
// module's whole budget is within kBudgetMargin (answer_by is when it
// asked): then no busy answer is ever in time either, and a decision on
// the loop is its only chance.
Server::OnLoop Server::on_loop(Job& job, Frame& frame) {
    ModuleTiming timing = timing_of(frame, job.accepted);
    if (timing.budget > kBudgetMargin && std::chrono::steady_clock::now() >= job.answer_by) return OnLoop::Untouched;
    frame.arrived = timing.asked;
    try {
        Begun begun = begin_without_waiting(frame, job.peer);
        if (!begun.answer && !begun.pending) return OnLoop::Untouched;
        take_frame(job.conn.get(), frame);
        if (begun.pending) {
            job.engine = std::move(begun.engine);
            job.pending = std::move(begun.pending);
            return OnLoop::Begun;
        }
        send_answer(job, frame, std::move(*begun.answer));
        ++answered_at_once_;
    } catch (const std::exception& e) {
        take_frame(job.conn.get(), frame);
        failed(job, &frame, e);
    }
    return OnLoop::Answered;
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
