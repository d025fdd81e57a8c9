#include "session_watch.h"

#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <vector>

#include "invoker.h"
#include "log.h"
#include "request_id.h"
#include "session_scope.h"
#include "telemetry.h"
#include "tty_idle.h"

namespace vigil {

using SysClock = std::chrono::system_clock;

namespace {

constexpr auto kTick = std::chrono::seconds(1);
// Re-decisions due in one tick go to the PDP together, this many per
// request at most (one AuthZEN batch; a few hundred KiB of JSON).
constexpr size_t kBatchMax = 100;

// How long opening a session may wait for PID 1 to start its scope.
constexpr auto kPlaceTimeout = std::chrono::milliseconds(2000);

std::optional<uid_t> uid_of(const std::string& user) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::nullopt;
    return found->pw_uid;
}

// Gives s a scope its processes cannot leave (session_scope.h): the logind
// scope it is in, or, with contain, one of its own. Not for sudo and su:
// they run inside their caller's session, whose scope is not theirs to end.
// Runs before the answer to pam_open_session, so before sshd forks the
// shell: every process of the session starts inside.
void place(LiveSession& s, bool contain) {
    if (subject_is_invoker(s.service) || !systemd_manages_pids()) return;
    if (auto now = cgroup_of(s.pid); now && is_logind_scope(unit_of_cgroup(*now))) {
        s.scope = *now;
        return;
    }
    if (!contain) return;
    auto uid = uid_of(s.user);
    if (!uid) {
        log_warn("sessions: {} has no uid; its session is not put in a scope", s.user);
        return;
    }
    if (s.id.empty()) s.id = new_request_id();
    auto placed = place_session(s.pid, *uid, s.id, kPlaceTimeout);
    if (!placed) {
        log_warn("sessions: {} for {} (pid {}) has no scope; it ends through its process tree: {}", s.id, s.user, s.pid,
                 placed.error().message);
        return;
    }
    s.scope = placed->cgroup;
    if (placed->created) log_info("sessions: {} has no logind scope; put in {}", s.id, unit_of_cgroup(s.scope));
}

// A request about a live session: the person and service of the account
// decision that let it in.
Request request_about(const LiveSession& s, Phase phase) {
    Request q;
    q.phase = phase;
    q.user = s.user;
    q.pam_user = s.pam_user;
    q.service = s.service;
    q.tty = s.tty;
    q.rhost = s.rhost;
    q.pid = s.pid;
    q.mfa = s.mfa;
    q.purpose = s.purpose;
    q.command = s.command;
    q.sudo = s.sudo;
    q.ssh_auth_info = s.ssh_auth_info;
    return q;
}

int64_t to_seconds(SysClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string minutes_text(std::chrono::seconds left) {
    auto m = (left.count() + 59) / 60;
    return m <= 1 ? "a minute" : fmt::format("{} minutes", m);
}

}  // namespace

SessionWatch::SessionWatch(SessionRegistry& registry, TerminatorSettings terminator, Engines engines,
                           SessionWatchSettings settings, Grants* grants)
    : registry_(registry),
      terminator_(std::make_unique<SessionTerminator>(terminator)),
      grants_(grants),
      engines_(std::move(engines)),
      settings_(settings) {}

SessionWatch::~SessionWatch() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    terminator_.reset();  // its callbacks use this watch: end them first
}

void SessionWatch::start() {
    thread_ = std::thread([this] { run(); });
}

void SessionWatch::opened(const DecisionRecord& r) {
    const Request& q = r.request;
    const std::optional<RecentDecision>& account = r.account;
    LiveSession s;
    // The person the account decision was about (sudo opens its session
    // for the target user): re-decisions must ask about them.
    s.user = account ? account->user : q.user;
    s.service = account ? account->service : q.service;
    s.pam_user = account ? account->pam_user : q.pam_user;
    s.tty = q.tty;
    s.rhost = q.rhost;
    s.pid = q.peer ? q.peer->pid : q.pid;
    if (!q.xdg_session_id.empty()) s.xdg_session_id = q.xdg_session_id;
    if (account) {
        s.mfa = account->mfa, s.purpose = account->purpose, s.command = account->argv, s.sudo = account->sudo;
        s.ssh_auth_info = account->ssh_auth_info;
    }
    // sshd exposes SSH_AUTH_INFO_0 to the account phase only after a PAM
    // conversation (keyboard-interactive); after publickey alone, first to
    // pam_open_session.
    if (s.ssh_auth_info.empty()) s.ssh_auth_info = q.ssh_auth_info;
    s.decision_id = r.decision_id;
    s.opened_at = clock_.now();
    if (r.decision.session_max) s.limits.max_until = s.opened_at + *r.decision.session_max;
    s.limits.idle_max = r.decision.session_idle;
    if (account && account->reevaluate) {
        s.limits.reevaluate_every = account->reevaluate;
        s.next_reevaluation = s.opened_at + *account->reevaluate;
    }
    if (s.limits.max_until || s.limits.idle_max) s.limits.warn_before = settings_.warn_before;
    // Sessions opened while the user holds a grant depend on it (the group
    // may be what let sudo in): they end when it does.
    if (grants_) {
        for (const ActiveGrant& g : grants_->list(s.user)) s.grant_ids.push_back(g.id);
    }
    place(s, settings_.contain);
    auto added = registry_.add(std::move(s));
    if (!added) {
        log_error("sessions: cannot register the session of pid {}: {}", q.peer ? q.peer->pid : 0,
                  added.error().message);
        return;
    }
    if (!added->saved) log_error("sessions: registered but not saved: {}", added->saved.error().message);
    if (added->session) {
        log_info("sessions: {} opened {} for {} (pid {})", added->session->id, added->session->service,
                 added->session->user, added->session->pid);
    }
}

void SessionWatch::closed(pid_t pid) {
    auto s = registry_.find_by_pid(pid);
    if (!s) return;
    auto removed = registry_.remove(s->id);
    // A session vigild is ending closes too (sshd sees its shell die): it
    // was counted under the reason vigild ended it for.
    if (!terminator_->ending(s->id)) count_session_end("closed");
    forget(s->id);
    if (removed.session) session_over(*removed.session);
}

bool SessionWatch::bind_grant(const std::string& session_id, const std::string& grant_id) {
    std::lock_guard lock(bind_mu_);
    auto s = registry_.find(session_id);
    if (!s) return false;
    std::vector<std::string> bound = s->bound_grants;
    bound.push_back(grant_id);
    SessionUpdate u;
    u.bound_grants = std::move(bound);
    auto changed = registry_.update(session_id, u);
    if (changed.session && !changed.saved) {
        log_error("sessions: grant {} bound to {} but not saved: {}", grant_id, session_id,
                  changed.saved.error().message);
    }
    return changed.session.has_value();
}

void SessionWatch::session_over(const LiveSession& s) {
    if (!grants_) return;
    for (const std::string& id : s.bound_grants) {
        auto gone = grants_->revoke(id);
        if (!gone) continue;
        log_info("grants: {} ({}) ended with session {}", id, gone->what, s.id);
        end_dependents(id, fmt::format("the grant it depended on ({}) ended with session {}", gone->what, s.id), s.id);
    }
}

void SessionWatch::forget(const std::string& id) {
    std::lock_guard lock(mu_);
    doomed_.erase(id);
    idle_.erase(id);
}

void SessionWatch::redecide_all() {
    {
        std::lock_guard lock(mu_);
        redecide_all_ = true;
    }
    wake_.notify_all();
}

bool SessionWatch::revoke(const std::string& id, const std::string& why) {
    auto s = registry_.find(id);
    if (!s) return false;
    end(*s, SessionEndReason::Revoked, why);
    return true;
}

size_t SessionWatch::revoke_user(const std::string& user, const std::string& why) {
    size_t n = 0;
    for (const LiveSession& s : registry_.list()) {
        if (s.user != user) continue;
        end(s, SessionEndReason::Revoked, why);
        ++n;
    }
    return n;
}

void SessionWatch::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        wake_.wait_for(lock, kTick, [this] { return stopping_ || redecide_all_; });
        if (stopping_) break;
        lock.unlock();
        tick(clock_.now(), SysClock::now());
        lock.lock();
    }
}

// A step of the wall clock (NTP, date -s) is worth a line: limits do not
// follow it, so `vigilctl sessions` times drift from the wall clock by it.
void SessionWatch::notice_clock_step() {
    auto offset = clock_.wall_offset();
    auto step = offset - last_wall_offset_;
    if (step > std::chrono::seconds(2) || step < std::chrono::seconds(-2)) {
        log_warn("sessions: the wall clock was stepped by {:+} s; session limits keep their durations",
                 std::chrono::round<std::chrono::seconds>(step).count());
        last_wall_offset_ = offset;
    }
}

void SessionWatch::tick(SysClock::time_point now, SysClock::time_point wall) {
    notice_clock_step();
    for (const LiveSession& gone : registry_.reap_ended().ended) {
        log_info("sessions: {} of {} ended without pam_close_session (process {} is gone)", gone.id, gone.user,
                 gone.pid);
        count_session_end("gone");
        forget(gone.id);
        session_over(gone);
    }
    sweep_grants(wall);
    bool all = false;
    {
        std::lock_guard lock(mu_);
        std::swap(all, redecide_all_);
    }
    std::vector<LiveSession> due;
    for (const LiveSession& s : registry_.list()) {
        if (check(s, now, wall, all)) due.push_back(s);
    }
    for (size_t i = 0; i < due.size(); i += kBatchMax) {
        std::vector<LiveSession> batch(due.begin() + static_cast<std::ptrdiff_t>(i),
                                       due.begin() + static_cast<std::ptrdiff_t>(std::min(due.size(), i + kBatchMax)));
        reevaluate(batch, now);
    }
}

void SessionWatch::sweep_grants(SysClock::time_point now) {
    if (!grants_) return;
    for (const EndedGrant& gone : grants_->sweep(now)) {
        log_event(Event::GrantExpired, LogLevel::Info, "grants: {} ({}) expired", gone.grant_id, gone.what);
        end_dependents(gone.grant_id, fmt::format("the grant it depended on ({}) expired", gone.what));
    }
}

void SessionWatch::end_dependents(const std::string& grant_id, const std::string& why, const std::string& except) {
    for (const LiveSession& s : registry_.list()) {
        if (s.id == except) continue;
        if (std::find(s.grant_ids.begin(), s.grant_ids.end(), grant_id) != s.grant_ids.end())
            end(s, SessionEndReason::GrantExpired, why);
    }
}

bool SessionWatch::check(const LiveSession& s, SysClock::time_point now, SysClock::time_point wall, bool all) {
    {
        std::unique_lock lock(mu_);
        if (auto it = doomed_.find(s.id); it != doomed_.end()) {
            bool due = now >= it->second.at;
            std::string why = it->second.why;
            lock.unlock();
            if (due) end(s, SessionEndReason::Redecided, why);  // else: waiting out the grace
            return false;
        }
    }
    const SessionLimits& l = s.limits;
    if (l.max_until && now >= *l.max_until) {
        end(s, SessionEndReason::Limit, "session_max reached");
        return false;
    }
    if (l.max_until && l.warn_before && !s.warned && now >= *l.max_until - *l.warn_before) {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(*l.max_until - now);
        auto tty = session_tty(s.pid);
        // warn_tty frames it: "vigil: " before, a line break either side.
        std::string text = fmt::format("this session ends in {} (session limit).", minutes_text(left));
        auto wrote = tty ? warn_tty(*tty, text) : Status(err("no terminal found for the session"));
        log_info("sessions: {} of {}: expiry warning {}", s.id, s.user,
                 wrote ? "written to " + *tty : "not shown: " + wrote.error().message);
        SessionUpdate u;
        u.warned = true;
        registry_.update(s.id, u);
    }
    if (l.idle_max && check_idle(s, wall)) return false;
    bool due = s.next_reevaluation && now >= *s.next_reevaluation;
    return all || due;
}

// The session's terminal, found once: a walk over /proc for every session on
// every tick would cost more than the limit is worth.
std::optional<std::string> SessionWatch::idle_tty(const LiveSession& s) {
    {
        std::lock_guard lock(mu_);
        if (auto it = idle_.find(s.id); it != idle_.end() && !it->second.tty.empty()) return it->second.tty;
    }
    auto tty = session_tty(s.pid);
    if (!tty) return std::nullopt;
    std::lock_guard lock(mu_);
    idle_[s.id].tty = *tty;
    return tty;
}

// The latest input the terminal's atime vouches for, or, when its owner set
// it into the future, the latest one known before (at first, the session's
// start), logged once per session.
int64_t SessionWatch::last_input(const LiveSession& s, int64_t atime, SysClock::time_point now) {
    std::lock_guard lock(mu_);
    IdleWatch& w = idle_[s.id];
    w.last_input = std::max(w.last_input, to_seconds(s.opened_at));
    if (auto bound = input_bound(atime, to_seconds(now))) {
        w.last_input = std::max(w.last_input, *bound);
    } else if (!w.forged_logged) {
        w.forged_logged = true;
        log_warn("sessions: {} of {}: terminal {} has an access time {} s in the future; not counted as input", s.id,
                 s.user, w.tty, atime - to_seconds(now));
    }
    return w.last_input;
}

// True when the session was ended for want of input. A session with no
// terminal (ssh host command) has no input to measure and is left alone.
bool SessionWatch::check_idle(const LiveSession& s, SysClock::time_point now) {
    auto tty = idle_tty(s);
    if (!tty) return false;
    auto atime = tty_atime(*tty);
    if (!atime) {
        std::lock_guard lock(mu_);
        idle_.erase(s.id);  // look for the terminal again next time
        return false;
    }
    auto idle = idle_since(last_input(s, *atime, now), to_seconds(now));
    const auto limit = *s.limits.idle_max;
    if (idle >= limit) {
        end(s, SessionEndReason::Idle,
            fmt::format("no input for {} s (session_idle {} s)", idle.count(), limit.count()));
        return true;
    }
    auto lead = std::min(s.limits.warn_before.value_or(std::chrono::seconds(0)), limit / 2);
    bool warn = lead.count() > 0 && idle >= limit - lead;
    {
        std::lock_guard lock(mu_);
        IdleWatch& w = idle_[s.id];
        if (!warn || w.warned) {
            w.warned = warn;  // input came back: warn again next time
            return false;
        }
        w.warned = true;
    }
    std::string text = fmt::format("this session ends in {} without input (idle limit).", minutes_text(limit - idle));
    auto wrote = warn_tty(*tty, text);
    log_info("sessions: {} of {}: idle warning {}", s.id, s.user,
             wrote ? "written to " + *tty : "not shown: " + wrote.error().message);
    return false;
}

// Every session in one call to the engine, so that those the PDP must answer
// go to it in one batch.
void SessionWatch::reevaluate(const std::vector<LiveSession>& sessions, SysClock::time_point now) {
    auto engine = engines_();
    if (!engine || sessions.empty()) return;
    std::vector<Request> requests;
    for (const LiveSession& s : sessions) requests.push_back(request_about(s, Phase::Reevaluate));
    std::vector<DecisionRecord> records = engine->decide_all(requests);
    for (size_t i = 0; i < sessions.size() && i < records.size(); ++i) apply(sessions[i], records[i], now);
}

void SessionWatch::apply(const LiveSession& s, const DecisionRecord& r, SysClock::time_point now) {
    SessionUpdate u;
    if (s.limits.reevaluate_every) u.next_reevaluation = now + *s.limits.reevaluate_every;
    // A re-decision may tighten the limits, never loosen them.
    SessionLimits tighter = s.limits;
    if (r.decision.session_max) {
        auto until = s.opened_at + *r.decision.session_max;
        if (!tighter.max_until || until < *tighter.max_until) tighter.max_until = until;
    }
    if (r.decision.session_idle && (!tighter.idle_max || *r.decision.session_idle < *tighter.idle_max)) {
        tighter.idle_max = r.decision.session_idle;
    }
    if (tighter.max_until != s.limits.max_until || tighter.idle_max != s.limits.idle_max) {
        tighter.warn_before = settings_.warn_before;
        u.limits = tighter;
    }
    registry_.update(s.id, u);
    // The re-decision carried the factor and the reason the login gave; a
    // step-up answer means they no longer suffice, and a live session cannot
    // be asked for more: it ends like a deny.
    if (r.decision.outcome == Outcome::Allow) return;
    log_warn("sessions: {} of {} no longer allowed ({}); ending it in {} s", s.id, s.user, r.decision.reason_admin,
             settings_.deny_grace.count());
    std::lock_guard lock(mu_);
    doomed_[s.id] = {now + settings_.deny_grace, "no longer allowed: " + r.decision.reason_admin};
}

void SessionWatch::end(const LiveSession& s, SessionEndReason reason, const std::string& why) {
    bool started = terminator_->end(s, why, [this, s](TerminationResult res) {
        audit_end(s, res.why, res.summary);
        auto removed = registry_.remove(s.id);
        forget(s.id);
        if (removed.session) session_over(*removed.session);
    });
    if (!started) return;
    log_event(event_for(reason), LogLevel::Info, "sessions: ending {} of {} (pid {}): {}", s.id, s.user, s.pid, why);
    count_session_end(to_string(reason));
    if (reason == SessionEndReason::Revoked) count_revocation();
}

void record_session_end(Engine& engine, const LiveSession& s, std::string reason_user, std::string reason_admin) {
    Request q = request_about(s, Phase::SessionEnd);
    Decision d;
    d.outcome = Outcome::Deny;
    d.reason_user = std::move(reason_user);
    d.reason_admin = std::move(reason_admin);
    (void)engine.conclude(q, std::move(d));
}

void SessionWatch::audit_end(const LiveSession& s, const std::string& why, const std::string& how) {
    if (auto engine = engines_()) {
        record_session_end(*engine, s, why, fmt::format("session {} ended: {}; {}", s.id, why, how));
    }
}

}  // namespace vigil
