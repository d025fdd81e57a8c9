// How the parts of a decision become the one answer a request gets, in
// this order and nowhere else:
//
//   1. the first answer (given): a refusal no rule may override (unknown
//      user, a cut argv, sshd's auth phase without a key, [posture]
//      require), else the local rules, else the PDP's answer or the
//      fallback for it (remote_decision.h);
//   2. step-up: what the allow rule or the PDP wants beyond the allow (a
//      method, a purpose), against what this request proved. A PDP that
//      asks again after the proof, or a method this host does not offer,
//      is a deny;
//   3. the SSH certificate: an allow in the account phase ends when the
//      trusted certificate the login used does (one already past: deny);
//   4. the trail: the answer is written (write), and an allow whose record
//      cannot be written is a deny under audit_failure = "deny".
//
// Report mode ([rollout]) comes after all four: the record says what
// enforcement would have done and the module is told to pass
// (request_codec.h).
//
//   Combined c = combine(first, facts, config.agent.audit_failure,
//                        [&](const Decision& d) { return audit.append(line_for(d)); });
#ifndef VIGIL_DECIDE_COMBINE_H
#define VIGIL_DECIDE_COMBINE_H

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "config.h"
#include "decision.h"
#include "request.h"
#include "result.h"
#include "rule.h"

namespace vigil {

struct CombineFacts {
    Phase phase = Phase::Account;
    std::chrono::system_clock::time_point at;  // when the request was decided
    const Rule* allow = nullptr;               // the local allow rule that matched, if any
    // sudo's PAM phase, with the approval plugin deciding each command: a
    // rule naming commands asks its step-up then, for the command.
    bool step_up_with_command = false;
    std::string proven_method;    // the second factor this request proved ("totp", "device"), or empty
    bool purpose_given = false;   // the request carries a justification
    bool totp_offered = false;    // [step_up.totp] is configured
    bool device_offered = false;  // [step_up.device] is configured
    // valid_before of the trusted certificate the login used, when it expires.
    std::optional<std::chrono::system_clock::time_point> certificate_ends;
};

// What was recorded is what was answered, except under step 4: then the
// record holds the answer before the write failed, and audit_error why.
struct Combined {
    Decision decision;
    std::string audit_error;  // empty when the record was written (or none was asked for)
};

// Writes the record of a decision to the trail. Empty for a dry run: step 4
// is skipped.
using TrailWrite = std::function<Status(const Decision&)>;

Combined combine(Decision first, const CombineFacts& facts, AuditFailure on_failure, const TrailWrite& write);

}  // namespace vigil

#endif
