// A grant in force as `vigilctl grant list --json` shows it (the admin
// socket's AdminGrants answer). session: the live session it is bound to
// (--bind), or empty.
#ifndef VIGIL_GRANTS_GRANT_JSON_H
#define VIGIL_GRANTS_GRANT_JSON_H

#include <nlohmann/json.hpp>
#include <string>

#include "grants.h"

namespace vigil {

nlohmann::ordered_json to_json(const ActiveGrant& g, const std::string& session);

}  // namespace vigil

#endif
