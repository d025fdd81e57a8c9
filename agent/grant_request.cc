#include "grant_request.h"

#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "log.h"
#include "timestamp.h"

namespace vigil {
namespace {

std::optional<std::string> user_name_of(uid_t uid) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::nullopt;
    return std::string(found->pw_name);
}

std::string optional_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::ordered_json grant_refused(const std::string& why, const std::string& request_id = "") {
    nlohmann::ordered_json j = {{"granted", false}, {"reason", why}};
    if (!request_id.empty()) j["request_id"] = request_id;
    return j;
}

}  // namespace

GrantRequests::GrantRequests(Grants* grants, SessionWatch* sessions, EngineSource engine)
    : grants_(grants), sessions_(sessions), engine_(std::move(engine)) {}

// A local user asks for a group (or an ephemeral account) for a while. The requester is who the
// kernel says connected (SO_PEERCRED), never a name in the request; the
// rules (service "elevate") or the PDP (action "elevate", with the group,
// the length and the reason as context.purpose) decide, and the trail
// records it like any other decision.
nlohmann::ordered_json GrantRequests::answer(const nlohmann::json& q, const PeerCredentials& peer) {
    auto user = user_name_of(peer.uid);
    if (!user) return grant_refused(fmt::format("uid {} has no user name", peer.uid));
    if (!grants_ || (grants_->settings().groups.empty() && grants_->settings().accounts.empty())) {
        return grant_refused("nothing may be granted on this host ([grants] lists no group and no account)");
    }
    std::string group = optional_string(q, "group"), account = optional_string(q, "account");
    std::string reason = optional_string(q, "reason");
    int64_t seconds =
        q.is_object() && q.contains("seconds") && q["seconds"].is_number_integer() ? q["seconds"].get<int64_t>() : 0;
    if (group.empty() == account.empty() || seconds <= 0) {
        return grant_refused("a grant needs a group or an account, and a length");
    }
    if (reason.empty()) return grant_refused("a grant needs a reason (--reason)");
    // --bind: the grant lasts as long as the session the request comes from
    // (and never longer than it was granted for).
    std::optional<LiveSession> bound;
    if (q.contains("bind") && q["bind"].is_boolean() && q["bind"].get<bool>()) {
        if (sessions_) bound = sessions_->session_of(peer.pid);
        if (!bound) return grant_refused("--bind: this process is not in a session vigild watches (ssh or sudo)");
        if (bound->user != *user) {
            return grant_refused(fmt::format("--bind: session {} is {}'s, not {}'s", bound->id, bound->user, *user));
        }
    }
    const GrantSettings& gs = grants_->settings();
    Request r;
    r.phase = Phase::Grant;
    r.user = *user;
    r.service = "elevate";
    r.purpose = reason.substr(0, 256);
    r.grant_group = group;
    r.grant_account = account;
    r.grant_asked = std::chrono::seconds(seconds);
    r.grant_length = std::min(r.grant_asked, gs.max);
    r.peer = peer;
    r.pid = peer.pid;
    DecisionRecord rec = engine_()->decide(r);
    if (rec.decision.outcome == Outcome::StepUp) {
        return grant_refused("this grant needs a second factor, which vigilctl cannot ask for yet", rec.request_id);
    }
    if (rec.decision.outcome != Outcome::Allow) {
        std::string why = rec.decision.reason_user.empty() ? "not allowed by policy" : rec.decision.reason_user;
        return grant_refused(why, rec.request_id);
    }
    auto length = grant_length_given(r, rec.decision);
    auto g = account.empty() ? grants_->grant(*user, group, length, r.purpose)
                             : grants_->grant_account(*user, account, length, r.purpose);
    std::string what = account.empty() ? group : "account " + account;
    if (!g) {
        log_error("grants: allowed {} for {} but could not grant it: {}", what, *user, g.error().message);
        return grant_refused("the grant could not be recorded: " + g.error().message, rec.request_id);
    }
    if (bound && !sessions_->bind_grant(bound->id, g->id)) {
        grants_->revoke(g->id);
        return grant_refused(fmt::format("session {} ended before the grant could be bound to it", bound->id),
                             rec.request_id);
    }
    log_event(Event::GrantGiven, LogLevel::Info, "grants: {} granted {} until {} ({}; decision {}{})", *user, what,
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
