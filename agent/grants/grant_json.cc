#include "grant_json.h"

#include "timestamp.h"

namespace vigil {

nlohmann::ordered_json to_json(const ActiveGrant& g, const std::string& session) {
    nlohmann::ordered_json j = {{"id", g.id},
                                {"group", g.group},
                                {"account", g.account},
                                {"user", g.user},
                                {"expires_at", rfc3339(g.expires_at)},
                                {"reason", g.reason}};
    if (!session.empty()) j["session"] = session;
    return j;
}

}  // namespace vigil
