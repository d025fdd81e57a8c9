// A local user's request for a just-in-time grant (`vigilctl grant request`
// on the grant socket): a group membership or an ephemeral account for a
// while. The requester is who the kernel says connected (SO_PEERCRED),
// never a name in the request.
//
//   GrantRequests desk(&grants, &sessions, [&] { return slot.get(); });
//   nlohmann::ordered_json answer = desk.answer(request_json, peer);
//   // {"granted": true, "id": "g-…", "group": "vigil-sudo", "expires_at": …}
//   // {"granted": false, "reason": "…"}
#ifndef VIGIL_AGENT_GRANT_REQUEST_H
#define VIGIL_AGENT_GRANT_REQUEST_H

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine.h"
#include "grants.h"
#include "request.h"
#include "session_watch.h"

namespace vigil {

class GrantRequests {
public:
    using EngineSource = std::function<std::shared_ptr<Engine>()>;

    // grants and sessions may be null (then grants are refused, and --bind
    // finds no session); both outlive this object.
    GrantRequests(Grants* grants, SessionWatch* sessions, EngineSource engine);

    // The answer to request q (the frame's JSON object) from peer.
    nlohmann::ordered_json answer(const nlohmann::json& q, const PeerCredentials& peer);

private:
    Grants* grants_;
    SessionWatch* sessions_;
    EngineSource engine_;
};

}  // namespace vigil

#endif
