// The agent's answer to a request, before it is sent or audited.
#ifndef VIGIL_POLICY_DECISION_H
#define VIGIL_POLICY_DECISION_H

#include <chrono>
#include <optional>
#include <string>

namespace vigil {

enum class Outcome { Allow, Deny, StepUp };

const char* to_string(Outcome o);

struct Decision {
    Outcome outcome = Outcome::Deny;
    std::string rule;          // the rule that decided; empty for the default deny
    std::string reason_user;   // safe to show the person at the terminal
    std::string reason_admin;  // for the trail: names rules, groups, addresses
    std::optional<std::chrono::seconds> session_max;
    std::optional<std::chrono::seconds> session_idle;  // ends a session without terminal input this long
    std::optional<std::chrono::seconds> reevaluate;    // from the PDP; enforced with sessions
    // Outcome::StepUp: what must be proven before the request is asked again:
    // a method ("totp", "device"; empty: none) and/or a justification.
    std::string step_up_method;
    bool needs_purpose = false;
};

}  // namespace vigil

#endif
