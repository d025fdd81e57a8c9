// The embedded policy decision point: the [[rule]] list of vigil.toml.
//
// A matching deny rule always wins; otherwise the first matching allow rule
// decides (and gives its session_max); a request no rule allows is denied.
// Rule order therefore only matters between allow rules.
#ifndef VIGIL_POLICY_LOCAL_POLICY_H
#define VIGIL_POLICY_LOCAL_POLICY_H

#include <vector>

#include "decision.h"
#include "identity.h"
#include "request.h"
#include "rule.h"

namespace vigil {

struct RuleMatch {
    const Rule* deny = nullptr;   // the first matching deny rule
    const Rule* allow = nullptr;  // the first matching allow rule
};

RuleMatch match_rules(const std::vector<Rule>& rules, const Request& req, const Identity& who);

Decision decide_locally(const std::vector<Rule>& rules, const Request& req, const Identity& who);

// The pieces decide_locally is made of, for the engine's remote path.
Decision deny_by(const Rule& rule, const Request& req);
Decision allow_by(const Rule& rule, const Request& req);
Decision default_deny(const Request& req);

}  // namespace vigil

#endif
