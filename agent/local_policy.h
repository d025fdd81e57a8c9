// The embedded policy decision point: the [[rule]] list of vigil.toml.
//
// A matching deny rule always wins; otherwise the first matching allow rule
// decides (and gives its session_max); a request no rule allows is denied.
// Rule order therefore only matters between allow rules.
#ifndef VIGIL_AGENT_LOCAL_POLICY_H
#define VIGIL_AGENT_LOCAL_POLICY_H

#include <vector>

#include "decision.h"
#include "identity.h"
#include "request.h"
#include "rule.h"

namespace vigil {

Decision decide_locally(const std::vector<Rule>& rules, const Request& req, const Identity& who);

}  // namespace vigil

#endif
