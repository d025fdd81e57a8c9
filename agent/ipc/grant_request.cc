#include "grant_request.h"

#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "log.h"
#include "purpose_check.h"
#include "result.h"
#include "timestamp.h"

namespace vigil {

struct GrantRequests::Refused {
    GrantRefusal kind;
    std::string message;  // for the requester
};

// What a well-formed request asks for.
struct GrantRequests::Ask {
    std::string group;    // or
    std::string account;  // exactly one of the two
    std::chrono::seconds length{0};
    std::string reason;
    bool bind = false;
};

namespace {

// Longer names are not worth looking up: no group or account is named so.
constexpr size_t kMaxName = 256;

std::optional<std::string> user_name_of(uid_t uid) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::nullopt;
    return std::string(found->pw_name);
}

nlohmann::ordered_json grant_refused(const std::string& why, const std::string& request_id = "") {
    nlohmann::ordered_json j = {{"granted", false}, {"reason", why}};
    if (!request_id.empty()) j["request_id"] = request_id;
    return j;
}

Result<std::string> name_field(const nlohmann::json& q, const char* key) {
    auto it = q.find(key);
    if (it == q.end()) return std::string();
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) return err(fmt::format("{} is not a name", key));
    if (it->get_ref<const std::string&>().size() > kMaxName) return err(fmt::format("{} is too long", key));
    return it->get<std::string>();
}

// {group | account, seconds, reason[, bind]} and nothing else, each of its
// type; the reason itself is checked later, against [step_up.purpose].
Result<GrantRequests::Ask> read_ask(const nlohmann::json& q) {
    static const char* const kKeys[] = {"group", "account", "seconds", "reason", "bind"};
    if (!q.is_object()) return err("not a JSON object");
    for (const auto& item : q.items()) {
        const std::string& key = item.key();
        if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; })) {
            return err("unknown field");
        }
    }
    GrantRequests::Ask a;
    auto group = name_field(q, "group"), account = name_field(q, "account");
    if (!group) return group.error();
    if (!account) return account.error();
    a.group = *group, a.account = *account;
    if (a.group.empty() == a.account.empty()) return err("name a group or an account (one of them)");
    auto seconds = q.find("seconds");
    if (seconds == q.end() || !seconds->is_number_integer() || seconds->get<int64_t>() <= 0) {
        return err("a length in seconds (more than 0) is required");
    }
    a.length = std::chrono::seconds(seconds->get<int64_t>());
    if (auto r = q.find("reason"); r != q.end()) {
        if (!r->is_string()) return err("the reason is not text");
        a.reason = r->get<std::string>();
    }
    if (auto b = q.find("bind"); b != q.end()) {
        if (!b->is_boolean()) return err("bind is not true or false");
        a.bind = b->get<bool>();
    }
    return a;
}

}  // namespace

GrantRequests::GrantRequests(Grants* grants, SessionWatch* sessions, EngineSource engine)
    : grants_(grants),
      sessions_(sessions),
      engine_(std::move(engine)),
      limiter_(grants ? grants->settings().requests_burst : GrantSettings{}.requests_burst,
               grants ? grants->settings().requests_every : GrantSettings{}.requests_every),
      refusals_([this](nlohmann::ordered_json r) {
          if (auto e = engine_()) e->append_to_trail(std::move(r));
      }) {}

// Who, how often, what shape, offered, a good reason; then the decision.
nlohmann::ordered_json GrantRequests::answer(const nlohmann::json& q, const PeerCredentials& peer) {
    auto user = user_name_of(peer.uid);
    if (!user) return refuse(peer, "", {GrantRefusal::UnknownUid, fmt::format("uid {} has no user name", peer.uid)});
    auto admission = limiter_.admit(peer.uid, RateLimiter::Clock::now());
    if (!admission.admitted) {
        return refuse(peer, *user,
                      {GrantRefusal::RateLimited,
                       fmt::format("too many grant requests; try again in {} s", admission.retry_after.count())});
    }
    auto ask = read_ask(q);
    if (!ask) return refuse(peer, *user, {GrantRefusal::Malformed, "malformed grant request: " + ask.error().message});
    if (auto why = not_offered(*ask); !why.empty()) return refuse(peer, *user, {GrantRefusal::NotOffered, why});
    auto engine = engine_();
    if (auto why = unacceptable_reason(ask->reason, *engine); !why.empty()) {
        return refuse(peer, *user, {GrantRefusal::BadReason, why});
    }
    std::optional<LiveSession> bound;
    if (ask->bind) {
        auto session = session_to_bind(*user, peer);
        if (!session) return refuse(peer, *user, {GrantRefusal::BindWithoutSession, session.error().message});
        bound = std::move(*session);
    }
    return decide(*ask, *user, peer, bound, *engine);
}

// --bind: the grant lasts as long as the session the request comes from
// (and never longer than it was granted for): that session, if it is the
// requester's own.
Result<LiveSession> GrantRequests::session_to_bind(const std::string& user, const PeerCredentials& peer) const {
    std::optional<LiveSession> s;
    if (sessions_) s = sessions_->session_of(peer.pid);
    if (!s) return err("--bind: this process is not in a session vigild watches (ssh or sudo)");
    if (s->user != user) return err(fmt::format("--bind: session {} is {}'s, not {}'s", s->id, s->user, user));
    return *s;
}

nlohmann::ordered_json GrantRequests::refuse(const PeerCredentials& peer, const std::string& user, const Refused& why) {
    refusals_.note(peer.uid, user, why.kind, GrantRefusals::Clock::now());
    return grant_refused(why.message);
}

// Empty when [grants] offers what ask names.
std::string GrantRequests::not_offered(const Ask& ask) const {
    if (!grants_ || (grants_->settings().groups.empty() && grants_->settings().accounts.empty())) {
        return "nothing may be granted on this host ([grants] lists no group and no account)";
    }
    const GrantSettings& gs = grants_->settings();
    if (!ask.group.empty()) {
        bool listed = std::any_of(gs.groups.begin(), gs.groups.end(),
                                  [&](const GrantGroupSettings& g) { return g.name == ask.group; });
        return listed ? "" : "that group is not one this host grants ([[grants.group]])";
    }
    bool listed = std::any_of(gs.accounts.begin(), gs.accounts.end(),
                              [&](const GrantAccountSettings& a) { return a.name == ask.account; });
    return listed ? "" : "that account is not one this host grants ([[grants.account]])";
}

// Empty when the reason passes what [step_up.purpose] asks of a purpose
// typed at a prompt: the same words, wherever they were typed.
std::string GrantRequests::unacceptable_reason(const std::string& reason, const Engine& engine) {
    if (reason.empty()) return "a grant needs a reason (--reason)";
    const PurposeSettings& p = engine.config().step_up.purpose;
    PurposeVerdict v;
    {
        std::lock_guard lock(pattern_mu_);
        if (pattern_text_ != p.pattern || pattern_text_.empty()) {
            pattern_ = std::regex(p.pattern, std::regex::ECMAScript);  // validated by the config reader
            pattern_text_ = p.pattern;
        }
        v = check_purpose(reason, pattern_);
    }
    switch (v) {
        case PurposeVerdict::Ok: return "";
        case PurposeVerdict::TooLong: return fmt::format("the reason is too long (at most {} bytes)", kMaxPurpose);
        case PurposeVerdict::NotPrintable:
            return "the reason holds a control character (a terminal escape, a line break, a bidirectional "
                   "control) or bytes that are not UTF-8";
        case PurposeVerdict::NoMatch: return "the reason is not accepted: " + p.hint;
    }
    return "the reason is not accepted";
}

// The rules (service "elevate") or the PDP (action "elevate", with the
// group, the length and the reason as context.purpose) decide; the trail
// records it like any other decision, with what was asked and given.
nlohmann::ordered_json GrantRequests::decide(const Ask& ask, const std::string& user, const PeerCredentials& peer,
                                             const std::optional<LiveSession>& bound, Engine& engine) {
    Request r;
    r.phase = Phase::Grant;
    r.user = user;
    r.service = "elevate";
    r.purpose = ask.reason;
    r.grant_group = ask.group;
    r.grant_account = ask.account;
    r.grant_asked = ask.length;
    r.grant_length = std::min(ask.length, grants_->settings().max);
    r.peer = peer;
    r.pid = peer.pid;
    DecisionRecord rec = engine.decide(r);
    if (rec.decision.outcome == Outcome::StepUp) {
        return grant_refused("this grant needs a second factor, which vigilctl cannot ask for yet", rec.request_id);
    }
    if (rec.decision.outcome != Outcome::Allow) {
        std::string why = rec.decision.reason_user.empty() ? "not allowed by policy" : rec.decision.reason_user;
        return grant_refused(why, rec.request_id);
    }
    auto length = grant_length_given(r, rec.decision);
    auto g = ask.account.empty() ? grants_->grant(user, ask.group, length, r.purpose)
                                 : grants_->grant_account(user, ask.account, length, r.purpose);
    std::string what = ask.account.empty() ? ask.group : "account " + ask.account;
    if (!g) {
        log_error("grants: allowed {} for {} but could not grant it: {}", what, user, g.error().message);
        return grant_refused("the grant could not be recorded: " + g.error().message, rec.request_id);
    }
    if (bound && !sessions_->bind_grant(bound->id, g->id)) {
        grants_->revoke(g->id);
        return grant_refused(fmt::format("session {} ended before the grant could be bound to it", bound->id),
                             rec.request_id);
    }
    log_event(Event::GrantGiven, LogLevel::Info, "grants: {} granted {} until {} ({}; decision {}{})", user, what,
              rfc3339(g->expires_at), g->id, rec.request_id, bound ? "; bound to session " + bound->id : "");
    nlohmann::ordered_json answer = {{"granted", true},
                                     {"id", g->id},
                                     {"group", g->group},
                                     {"account", g->account},
                                     {"user", g->user},
                                     {"expires_at", rfc3339(g->expires_at)},
                                     {"request_id", rec.request_id}};
    if (bound) answer["session"] = bound->id;
    return answer;
}

}  // namespace vigil
