// What a PDP may attach to its answer, and what vigild does with it.
//
// Keys vigild enforces (obligations) and keys it only records (information)
// are listed here; any other key is an obligation vigild cannot carry out,
// and an answer carrying one becomes a deny: a PDP that asks for something
// we would silently skip must not be obeyed halfway.
//
//   auto ob = parse_obligations(context_json, {"cerbos"});   // Result<Obligations>
#ifndef VIGIL_PDP_OBLIGATIONS_H
#define VIGIL_PDP_OBLIGATIONS_H

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace vigil {

struct StepUp {
    std::string method;  // "totp", "device" (or "device_flow"), "purpose" (a justification only)
    std::string prompt;
};

struct Obligations {
    std::optional<std::chrono::seconds> session_max;
    std::optional<std::chrono::seconds> session_idle;
    std::optional<std::chrono::seconds> reevaluate;
    std::optional<StepUp> step_up;
    bool purpose = false;  // "purpose": true — a justification first
    std::string reason_user;
    std::string reason_admin;
    std::string policy_version;
};

// context: the PDP's answer context (AuthZEN `context`, merged Cerbos
// outputs, the OPA result object less `allow`). ignored: extra keys the admin
// declared informational ([pdp] ignore_keys).
Result<Obligations> parse_obligations(const nlohmann::json& context, const std::vector<std::string>& ignored = {});

}  // namespace vigil

#endif
