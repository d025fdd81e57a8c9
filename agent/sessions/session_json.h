// A live session as `vigilctl sessions --json` shows it (the admin socket's
// AdminSessions answer).
#ifndef VIGIL_SESSIONS_SESSION_JSON_H
#define VIGIL_SESSIONS_SESSION_JSON_H

#include <nlohmann/json.hpp>

#include "session_registry.h"

namespace vigil {

nlohmann::ordered_json to_json(const LiveSession& s);

}  // namespace vigil

#endif
