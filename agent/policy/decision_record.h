// One decision as the trail, the journal, the PDP query and live sessions
// see it: the request, who the kernel and NSS say asked, the signals read,
// what decided (local rules, the PDP, a cache, a fallback) and the answer.
// The engine fills it (engine.h); write_json is the trail's line for it.
//
//   DecisionRecord r = engine.decide(request);
//   audit.append_object(json_text(r));   // {"time":...,"event":"decision","outcome":"allow",...}
#ifndef VIGIL_POLICY_DECISION_RECORD_H
#define VIGIL_POLICY_DECISION_RECORD_H

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "decision.h"
#include "identity.h"
#include "json_writer.h"
#include "recent_decisions.h"
#include "request.h"
#include "signal.h"

namespace vigil {

struct DecisionRecord {
    std::string request_id;
    std::chrono::system_clock::time_point at;
    Request request;
    std::optional<Identity> identity;
    std::chrono::milliseconds identity_age{0};  // how old the NSS answer was (identity_cache.h)
    // Parsed from SSH_AUTH_INFO_0: the first certificate a CA in [ssh]
    // trusts (null if none), and, for the trail only, what could not be
    // believed (other certificates, or why the text did not parse).
    nlohmann::ordered_json ssh_certificate;
    nlohmann::ordered_json ssh_untrusted;
    std::string ssh_key;  // fingerprint of the key a completed publickey method used
    posture::Snapshot signals;
    Decision decision;
    std::string policy_version;
    std::chrono::microseconds latency{0};
    std::string path = "local";             // what decided: local, pdp, cache, fallback:<kind>
    nlohmann::ordered_json pdp;             // the PDP exchange, when there was one
    std::string decision_id;                // sessions: the account decision they follow
    std::optional<RecentDecision> account;  // sessions: that decision
    std::string audit_error;                // set when the trail could not be written
    // [rollout] mode = "report" for this service: decided as in enforce
    // mode, recorded as what enforcement would have done, not enforced.
    bool report = false;
};

// The record as one JSON object (the keys vigild(8) lists), written with
// JsonWriter: no DOM, since every decision writes one.
void write_json(JsonWriter& w, const DecisionRecord& r);
std::string json_text(const DecisionRecord& r);

// The outcome as the trail, the journal and the metrics name it: the
// decision's, or in report mode what it would have been ("would_deny",
// "would_step_up"; an allow stays "allow").
std::string recorded_outcome(const DecisionRecord& r);

// How long an allowed grant request is granted for: what it asked, capped
// by [grants] max and by the decision's session_max.
std::chrono::seconds grant_length_given(const Request& q, const Decision& d);

}  // namespace vigil

#endif
