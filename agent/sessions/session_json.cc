#include "session_json.h"

#include "timestamp.h"

namespace vigil {

nlohmann::ordered_json to_json(const LiveSession& s) {
    nlohmann::ordered_json j = {{"id", s.id},
                                {"user", s.user},
                                {"service", s.service},
                                {"tty", s.tty},
                                {"rhost", s.rhost},
                                {"pid", s.pid},
                                {"opened_at", rfc3339(s.opened_at)},
                                {"decision_id", s.decision_id}};
    if (s.xdg_session_id) j["xdg_session_id"] = *s.xdg_session_id;
    if (s.limits.max_until) j["ends_at"] = rfc3339(*s.limits.max_until);
    if (s.limits.idle_max) j["idle_max_seconds"] = s.limits.idle_max->count();
    if (s.limits.reevaluate_every) j["reevaluate_seconds"] = s.limits.reevaluate_every->count();
    if (s.next_reevaluation) j["next_reevaluation"] = rfc3339(*s.next_reevaluation);
    if (!s.grant_ids.empty()) j["grants"] = s.grant_ids;
    if (!s.command.empty()) j["command"] = s.command;
    if (!s.scope.empty()) j["scope"] = s.scope;
    if (s.sudo) j["runas_user"] = s.sudo->runas_user;
    return j;
}

}  // namespace vigil
