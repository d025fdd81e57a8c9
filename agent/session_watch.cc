#include "session_watch.h"

#include <fmt/format.h>

#include <algorithm>

#include "log.h"
#include "telemetry.h"

namespace vigil {

using SysClock = std::chrono::system_clock;

namespace {

constexpr auto kTick = std::chrono::seconds(1);

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
    s.tty = q.tty;
    s.rhost = q.rhost;
    s.pid = q.peer ? q.peer->pid : q.pid;
    if (!q.xdg_session_id.empty()) s.xdg_session_id = q.xdg_session_id;
    s.decision_id = r.decision_id;
    s.opened_at = SysClock::now();
    if (r.decision.session_max) s.limits.max_until = s.opened_at + *r.decision.session_max;
    if (account && account->reevaluate) {
        s.limits.reevaluate_every = account->reevaluate;
        s.next_reevaluation = s.opened_at + *account->reevaluate;
    }
    if (s.limits.max_until) s.limits.warn_before = settings_.warn_before;
    // Sessions opened while the user holds a grant depend on it (the group
    // may be what let sudo in): they end when it does.
    if (grants_) {
        for (const ActiveGrant& g : grants_->list(s.user)) s.grant_ids.push_back(g.id);
    }
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
    registry_.remove(s->id);
    // A session vigild is ending closes too (sshd sees its shell die): it
    // was counted under the reason vigild ended it for.
    if (!terminator_->ending(s->id)) count_session_end("closed");
    std::lock_guard lock(mu_);
    doomed_.erase(s->id);
}

void SessionWatch::posture_changed() {
    {
        std::lock_guard lock(mu_);
        posture_changed_ = true;
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
        wake_.wait_for(lock, kTick, [this] { return stopping_ || posture_changed_; });
        if (stopping_) break;
        lock.unlock();
        tick(SysClock::now());
        lock.lock();
    }
}

void SessionWatch::tick(SysClock::time_point now) {
    for (const LiveSession& gone : registry_.reap_ended().ended) {
        log_info("sessions: {} of {} ended without pam_close_session (process {} is gone)", gone.id, gone.user,
                 gone.pid);
        count_session_end("gone");
    }
    sweep_grants(now);
    bool posture = false;
    {
        std::lock_guard lock(mu_);
        std::swap(posture, posture_changed_);
    }
    for (const LiveSession& s : registry_.list()) check(s, now, posture);
}

void SessionWatch::sweep_grants(SysClock::time_point now) {
    if (!grants_) return;
    for (const GrantMember& gone : grants_->sweep(now)) {
        log_event(Event::GrantExpired, LogLevel::Info, "grants: {} of {} to {} expired", gone.grant_id, gone.group,
                  gone.user);
        for (const LiveSession& s : registry_.list()) {
            if (std::find(s.grant_ids.begin(), s.grant_ids.end(), gone.grant_id) != s.grant_ids.end()) {
                end(s, SessionEndReason::GrantExpired,
                    fmt::format("the grant of {} it depended on expired", gone.group));
            }
        }
    }
}

void SessionWatch::check(const LiveSession& s, SysClock::time_point now, bool posture) {
    {
        std::unique_lock lock(mu_);
        if (auto it = doomed_.find(s.id); it != doomed_.end()) {
            bool due = now >= it->second.at;
            std::string why = it->second.why;
            lock.unlock();
            if (due) end(s, SessionEndReason::Redecided, why);  // else: waiting out the grace
            return;
        }
    }
    const SessionLimits& l = s.limits;
    if (l.max_until && now >= *l.max_until) return end(s, SessionEndReason::Limit, "session_max reached");
    if (l.max_until && l.warn_before && !s.warned && now >= *l.max_until - *l.warn_before) {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(*l.max_until - now);
        auto tty = session_tty(s.pid);
        std::string text = fmt::format("\r\nvigil: this session ends in {} (session limit).\r\n", minutes_text(left));
        auto wrote = tty ? warn_tty(*tty, text) : Status(err("no terminal found for the session"));
        log_info("sessions: {} of {}: expiry warning {}", s.id, s.user,
                 wrote ? "written to " + *tty : "not shown: " + wrote.error().message);
        registry_.update(s.id, SessionUpdate{{}, true, {}, {}});
    }
    bool due = s.next_reevaluation && now >= *s.next_reevaluation;
    if (posture || due) reevaluate(s, now);
}

void SessionWatch::reevaluate(const LiveSession& s, SysClock::time_point now) {
    auto engine = engines_();
    if (!engine) return;
    Request q;
    q.phase = Phase::Reevaluate;
    q.user = s.user;
    q.service = s.service;
    q.tty = s.tty;
    q.rhost = s.rhost;
    q.pid = s.pid;
    DecisionRecord r = engine->decide(q);
    SessionUpdate u;
    if (s.limits.reevaluate_every) u.next_reevaluation = now + *s.limits.reevaluate_every;
    if (r.decision.session_max) {
        // A re-decision may shorten the session, never lengthen it.
        SessionLimits tighter = s.limits;
        auto until = s.opened_at + *r.decision.session_max;
        if (!tighter.max_until || until < *tighter.max_until) {
            tighter.max_until = until;
            tighter.warn_before = settings_.warn_before;
            u.limits = tighter;
        }
    }
    registry_.update(s.id, u);
    // A step-up answer means the policy still allows with the factor the
    // person already gave at login: the session stands.
    if (r.decision.outcome != Outcome::Deny) return;
    log_warn("sessions: {} of {} no longer allowed ({}); ending it in {} s", s.id, s.user, r.decision.reason_admin,
             settings_.deny_grace.count());
    std::lock_guard lock(mu_);
    doomed_[s.id] = {now + settings_.deny_grace, "no longer allowed: " + r.decision.reason_admin};
}

void SessionWatch::end(const LiveSession& s, SessionEndReason reason, const std::string& why) {
    bool started = terminator_->end(s, why, [this, s](TerminationResult res) {
        audit_end(s, res.why, res.summary);
        registry_.remove(s.id);
        std::lock_guard lock(mu_);
        doomed_.erase(s.id);
    });
    if (!started) return;
    log_event(event_for(reason), LogLevel::Info, "sessions: ending {} of {} (pid {}): {}", s.id, s.user, s.pid, why);
    count_session_end(to_string(reason));
    if (reason == SessionEndReason::Revoked) count_revocation();
}

void record_session_end(Engine& engine, const LiveSession& s, std::string reason_user, std::string reason_admin) {
    Request q;
    q.phase = Phase::SessionEnd;
    q.user = s.user;
    q.service = s.service;
    q.tty = s.tty;
    q.rhost = s.rhost;
    q.pid = s.pid;
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
