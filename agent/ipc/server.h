// vigild's three sockets and the closed table of requests they answer.
//
// Like OpenSSH's monitor, the server answers only the request kinds listed
// in its route table (routes.cc), each permitted on one socket only, and
// its handlers only unwrap and wrap: the work is done beside what they
// serve (the engine, step-up, sessions, grants, the status report); a peer that is not
// root, or a frame that cannot be read, closes the connection and is logged.
// A PAM request that was read but cannot be decided (a field too long, an
// unknown kind) is answered with a deny and recorded, never just closed: the
// module's failmode is only for an agent that does not answer. (A failure
// while deciding is answered with a deny too, and logged; the trail may be
// what failed.)
//
// vigild's main loop accepts. A PAM connection whose frame has not all
// arrived is watched by the loop (arrivals.h) until it has, or until
// read_timeout: no thread waits on a slow client. A PAM account request
// whose frame has arrived and that needs nothing outside vigild (the user's identity cached:
// Engine::identity_without_waiting; local rules or a cached PDP allow) is
// answered right there, without a thread handoff; one that needs the PDP is
// begun there and handed to a worker for the call. Every other connection
// goes to a pool of
// worker threads that grows on demand up to max_concurrent, so one slow
// decision (a PDP call, an NSS lookup) never holds up the others; a worker
// idle for worker_idle ends. With every worker taken, a request waits its
// turn while it can still be answered within the budget its module sent;
// one that cannot is answered "busy" (a deny) by a separate thread before
// the module gives up.
#ifndef VIGIL_IPC_SERVER_H
#define VIGIL_IPC_SERVER_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "arrivals.h"
#include "engine.h"
#include "frame_io.h"
#include "grant_admission.h"
#include "grant_request.h"
#include "grants.h"
#include "result.h"
#include "session_watch.h"
#include "step_up.h"
#include "unique_fd.h"

namespace vigil {

// Grant: any local user may connect; SO_PEERCRED names the requester.
enum class Listener { Pam, Admin, Grant };

struct ServerOptions {
    int max_concurrent = 64;
    std::chrono::milliseconds read_timeout{2000};
    StepUpCoordinator* step_up = nullptr;  // owned by vigild; null: step-ups are denied
    SessionWatch* sessions = nullptr;      // owned by vigild; null: sessions are not watched
    Grants* grants = nullptr;              // owned by vigild; null: grants are refused
    // A worker with nothing to do for this long ends: a burst's threads (and
    // the stack pages they touched) do not stay for good.
    std::chrono::milliseconds worker_idle{30000};
};

class Server {
public:
    using EngineSource = std::function<std::shared_ptr<Engine>()>;
    using Answer = Result<std::vector<uint8_t>>;

    Server(ServerOptions options, EngineSource engine);
    ~Server();  // finishes the connections in hand, then joins every thread

    // Accepts what is pending on a listening socket (non-blocking), at most
    // kAcceptsPerCall connections: clients that ask again as soon as they
    // are answered keep a backlog full for good, and the loop calling this
    // must still get back to its signals and watchdog. The rest wait in the
    // backlog for the next call (poll is level-triggered).
    static constexpr int kAcceptsPerCall = 32;
    void accept_from(int listen_fd, Listener which);

    // PAM connections accepted before their frame was all in: the loop polls
    // arrivals_fd and calls take_arrivals when it is readable, then
    // expire_arrivals on every turn, waking no later than next_expiry.
    int arrivals_fd() const { return arrivals_.fd(); }
    void take_arrivals();
    void expire_arrivals();
    std::optional<std::chrono::steady_clock::time_point> next_expiry() { return arrivals_.next_deadline(); }
    size_t waiting_for_frames() const { return arrivals_.size(); }

    // Worker threads running now (the status report; tests).
    int workers() const;

private:
    struct Route {
        wire::Kind kind;
        Listener on;
        Answer (Server::*answer)(const Frame&, const PeerCredentials&);
    };

    struct Job {
        UniqueFd conn;
        Listener which;
        PeerCredentials peer;
        std::chrono::steady_clock::time_point accepted;
        // Still waiting for a worker then: told "busy" (responder_loop).
        std::chrono::steady_clock::time_point answer_by;
        // An account request the loop began that waits for the PDP: its
        // frame is read, the engine that began it kept with it.
        std::shared_ptr<Engine> engine;
        std::optional<PendingDecision> pending;
    };
    // What the loop thread did with a PAM request's frame.
    enum class OnLoop { Untouched, Answered, Begun };
    struct Begun {
        std::optional<Answer> answer;  // decided at once
        std::shared_ptr<Engine> engine;
        std::optional<PendingDecision> pending;  // or begun, for the PDP
    };

    // routes.cc: the table and its handlers.
    static const Route kRoutes[];
    static const Route* find_route(uint16_t kind, Listener on);

    void dispatch(Job job);
    // Watched by the loop until its frame is in (arrivals_); a worker's
    // when it cannot be.
    void await_frame(Job job);
    void add_worker();
    void join_idle_workers();  // with mu_ held
    void worker_loop();
    void responder_loop();
    void serve(Job& job, bool busy);  // handles the job, then lets go of its connection
    void handle(Job& job, bool busy);
    void finish_pending(Job& job, bool busy);
    // The peeked frame answered (or refused) on the loop thread, or begun
    // and left in job for a worker, or untouched: a worker's job whole.
    OnLoop on_loop(Job& job, Frame& frame);
    void unrouted(const Job& job, const Frame& frame);
    void send_answer(const Job& job, const Frame& frame, Answer answer);
    void failed(const Job& job, const Frame* frame, const std::exception& e);
    void deliver(const Job& job, const std::vector<uint8_t>& answer);
    void note_busy(const Job& job);
    void release_grant(const Job& job);  // a grant-socket connection is no longer in hand

    Answer refuse(const Frame& f, const PeerCredentials& peer, const std::string& why);
    Answer refuse(wire::Kind kind, Request q, const std::string& user_why, const std::string& why);
    Answer answer_pam_request(const Frame& f, const PeerCredentials& peer);
    // answer_pam_request for what can be begun without waiting: answered,
    // or begun until the PDP call; neither, with nothing done, for the rest.
    Begun begin_without_waiting(const Frame& f, const PeerCredentials& peer);
    Answer answer_step_up_answer(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_decide(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_ping(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_posture(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_sessions(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_revoke(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_grants(const Frame& f, const PeerCredentials& peer);
    Answer answer_admin_status(const Frame& f, const PeerCredentials& peer);
    Answer answer_grant_request(const Frame& f, const PeerCredentials& peer);

    ServerOptions options_;
    EngineSource engine_;
    GrantRequests grant_requests_;
    mutable std::mutex mu_;
    std::condition_variable work_;       // a job for the workers
    std::condition_variable busy_work_;  // a job due sooner than the busy responder planned to look
    std::deque<Job> jobs_;               // waiting for a worker
    std::deque<Job> busy_jobs_;          // past their answer_by: for the busy responder
    std::chrono::steady_clock::time_point responder_wakes_ = std::chrono::steady_clock::time_point::max();
    std::vector<std::thread> workers_;
    std::vector<std::thread::id> ended_workers_;  // left worker_loop, not joined yet
    std::thread busy_responder_;
    int idle_workers_ = 0;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::atomic<uint64_t> answered_{0};
    std::atomic<uint64_t> busy_answers_{0};
    std::atomic<uint64_t> answered_at_once_{0};
    GrantAdmission grant_admission_;
    Arrivals<Job> arrivals_;  // the loop thread's alone
};

}  // namespace vigil

#endif
