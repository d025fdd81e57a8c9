// A local user's request for a just-in-time grant (`vigilctl grant request`
// on the grant socket, open to every local user): a group membership or an
// ephemeral account for a while.
//
// Checked in this order, cheapest and least trusting first: who asks (the
// kernel's SO_PEERCRED uid and its user name, never a name in the request)
// → that uid's rate limit ([grants] requests_burst, requests_every) → the
// request's shape → the group or account is one [grants] offers → the
// reason passes the [step_up.purpose] check. Only then do the rules or the
// PDP decide, and that decision is the one full trail record the request
// writes. A request refused before it is counted (grant_refusals.h), so a
// user looping requests costs the trail a record a minute, not one each.
//
//   GrantRequests desk(&grants, &sessions, [&] { return slot.get(); });
//   nlohmann::ordered_json answer = desk.answer(request_json, peer);
//   // {"granted": true, "id": "g-…", "group": "vigil-sudo", "expires_at": …}
//   // {"granted": false, "reason": "…"}
#ifndef VIGIL_IPC_GRANT_REQUEST_H
#define VIGIL_IPC_GRANT_REQUEST_H

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "engine.h"
#include "grant_refusals.h"
#include "grants.h"
#include "rate_limiter.h"
#include "request.h"
#include "result.h"
#include "session_watch.h"

namespace vigil {

class GrantRequests {
public:
    using EngineSource = std::function<std::shared_ptr<Engine>()>;

    // grants and sessions may be null (then grants are refused, and --bind
    // finds no session); both outlive this object. The rate limit is read
    // from grants' settings, like everything else under [grants].
    GrantRequests(Grants* grants, SessionWatch* sessions, EngineSource engine);

    // The answer to request q (the frame's JSON, whatever it holds) from peer.
    nlohmann::ordered_json answer(const nlohmann::json& q, const PeerCredentials& peer);

    struct Ask;  // a well-formed request (grant_request.cc)

private:
    struct Refused;

    nlohmann::ordered_json refuse(const PeerCredentials& peer, const std::string& user, const Refused& why);
    std::string not_offered(const Ask& ask) const;
    std::string unacceptable_reason(const std::string& reason, const Engine& engine);
    Result<LiveSession> session_to_bind(const std::string& user, const PeerCredentials& peer) const;
    nlohmann::ordered_json decide(const Ask& ask, const std::string& user, const PeerCredentials& peer,
                                  const std::optional<LiveSession>& bound, Engine& engine);

    Grants* grants_;
    SessionWatch* sessions_;
    EngineSource engine_;
    RateLimiter limiter_;
    std::mutex pattern_mu_;
    std::string pattern_text_;  // [step_up.purpose] pattern, compiled in pattern_
    std::regex pattern_;
    GrantRefusals refusals_;  // last: its final record goes through engine_
};

}  // namespace vigil

#endif
