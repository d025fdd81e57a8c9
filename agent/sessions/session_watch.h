// Keeps watch over every session vigild allowed: registers them at
// pam_open_session, forgets them at close, and ends them when their time is
// up or they sat idle too long, when an admin revokes them, or when a re-decision no longer allows
// them (on their re-evaluation interval, and at once when the posture or the policy changes).
//
//   SessionWatch watch(registry, terminator, engines, settings);
//   watch.opened(record);            // an audited OpenSession that was allowed
//   watch.closed(peer_pid);          // pam_close_session
//   watch.redecide_all();            // posture or policy changed: re-decide every session now
//   watch.revoke(id, "by admin");    // vigilctl revoke
//
// One thread ticks every second (and at once when woken) and compares each
// deadline with a SessionClock: limits are durations, kept whatever the wall
// clock does (a step is logged). Grants and terminal idleness are wall-clock
// facts (the grant table's expiries, a tty's atime) and are judged on the
// wall clock. Every ending is written to the trail with why and how (logind
// or signals).
#ifndef VIGIL_SESSIONS_SESSION_WATCH_H
#define VIGIL_SESSIONS_SESSION_WATCH_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "grants.h"
#include "session_clock.h"
#include "session_end_reason.h"
#include "session_registry.h"
#include "session_terminator.h"

namespace vigil {

struct SessionWatchSettings {
    std::chrono::seconds warn_before{120};  // the tty warning's lead time before session_max
    std::chrono::seconds deny_grace{10};    // after a re-decision flips to deny
    bool contain = false;                   // [sessions] contain: a scope where logind gave none
};

// Writes a session_end record for s to the trail.
void record_session_end(Engine& engine, const LiveSession& s, std::string reason_user, std::string reason_admin);

class SessionWatch {
public:
    using Engines = std::function<std::shared_ptr<Engine>()>;

    // grants may be null. The watch owns the terminator: its destructor
    // stops the watch's thread, then the terminator (whose callbacks use
    // the watch), before anything they use is gone.
    SessionWatch(SessionRegistry& registry, TerminatorSettings terminator, Engines engines,
                 SessionWatchSettings settings, Grants* grants);
    ~SessionWatch();
    SessionWatch(const SessionWatch&) = delete;
    SessionWatch& operator=(const SessionWatch&) = delete;

    void start();
    // r: an allowed OpenSession, already audited and linked to its account
    // decision (account: that decision's user and service, for re-decisions).
    void opened(const DecisionRecord& r);
    void closed(pid_t pid);
    void redecide_all();
    // Ends one session (false: no such session) or every session of a user
    // (the number ended).
    bool revoke(const std::string& id, const std::string& why);
    size_t revoke_user(const std::string& user, const std::string& why);
    std::vector<LiveSession> list() const { return registry_.list(); }
    // The live session pid runs in (see SessionRegistry::find_enclosing).
    std::optional<LiveSession> session_of(pid_t pid) const { return registry_.find_enclosing(pid); }
    // Binds grant_id to the session: the grant ends when the session does.
    // False when the session is gone.
    bool bind_grant(const std::string& session_id, const std::string& grant_id);
    // A session is over (closed, ended, or found gone): ends the grants bound
    // to it and the sessions that depended on those. For sessions that ended
    // while vigild was down, too.
    void session_over(const LiveSession& s);

private:
    void run();
    // now: SessionClock time, for limits; wall: the wall clock, for grants and
    // terminal idleness.
    void tick(std::chrono::system_clock::time_point now, std::chrono::system_clock::time_point wall);
    void notice_clock_step();
    // Ends s if a limit says so; true when s is due for a re-decision.
    bool check(const LiveSession& s, std::chrono::system_clock::time_point now,
               std::chrono::system_clock::time_point wall, bool all);
    void reevaluate(const std::vector<LiveSession>& sessions, std::chrono::system_clock::time_point now);
    void apply(const LiveSession& s, const DecisionRecord& r, std::chrono::system_clock::time_point now);
    void end(const LiveSession& s, SessionEndReason reason, const std::string& why);
    void audit_end(const LiveSession& s, const std::string& why, const std::string& how);

    bool check_idle(const LiveSession& s, std::chrono::system_clock::time_point now);
    std::optional<std::string> idle_tty(const LiveSession& s);
    int64_t last_input(const LiveSession& s, int64_t atime, std::chrono::system_clock::time_point now);
    void forget(const std::string& id);

    void sweep_grants(std::chrono::system_clock::time_point now);
    // Ends every session but `except` that depends on grant_id.
    void end_dependents(const std::string& grant_id, const std::string& why, const std::string& except = "");

    SessionRegistry& registry_;
    std::unique_ptr<SessionTerminator> terminator_;
    Grants* grants_;
    Engines engines_;
    SessionWatchSettings settings_;
    SessionClock clock_;
    std::chrono::nanoseconds last_wall_offset_{0};
    std::mutex mu_;
    std::mutex bind_mu_;  // one bind_grant at a time: read, append, write
    std::condition_variable wake_;
    bool stopping_ = false;
    bool redecide_all_ = false;  // set by redecide_all(), taken by the next tick
    struct Doom {
        std::chrono::system_clock::time_point at;  // deny_grace after the re-decision
        std::string why;
    };
    std::map<std::string, Doom> doomed_;  // re-decided to deny, by session id
    struct IdleWatch {
        std::string tty;             // the session's terminal, once found
        bool warned = false;         // the idle warning is showing
        int64_t last_input = 0;      // seconds since the epoch
        bool forged_logged = false;  // an atime in the future was logged
    };
    std::map<std::string, IdleWatch> idle_;  // sessions with session_idle, by id
    std::thread thread_;
};

}  // namespace vigil

#endif
