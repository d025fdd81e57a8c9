#include "combine.h"

#include <fmt/format.h>

namespace vigil {
namespace {

bool offered(const CombineFacts& f, const std::string& method) {
    return (method == "totp" && f.totp_offered) || (method == "device" && f.device_offered);
}

// Step 2. A local allow rule may want a second factor or a purpose on top
// of the allow; the PDP asks through its step_up obligation. Either is
// satisfied by what the request carries: proven in this transaction, or
// remembered from a recent one (StepUpCoordinator::attach).
Decision demand_step_up(Decision d, const CombineFacts& f) {
    if (d.outcome == Outcome::Deny) return d;
    bool pdp_asked = d.outcome == Outcome::StepUp;
    std::string method = pdp_asked ? d.step_up_method : "";
    bool purpose = pdp_asked && d.needs_purpose;
    if (f.allow && !f.step_up_with_command) {
        if (method.empty()) method = f.allow->step_up;
        purpose = purpose || f.allow->purpose;
    }
    bool method_ok = method.empty() || f.proven_method == method;
    bool purpose_ok = !purpose || f.purpose_given;
    if (method_ok && purpose_ok) {
        if (!pdp_asked) return d;
        // The PDP saw the proof in context.mfa and still asks: asking again
        // would loop, so the request ends here.
        d.outcome = Outcome::Deny;
        d.reason_user = "access denied: the policy was not satisfied by the second factor given";
        d.reason_admin += "; the PDP asked for a step-up again after one was given";
        return d;
    }
    if (!method_ok && !offered(f, method)) {
        Decision no;
        no.rule = d.rule;
        no.reason_user = "access denied: the policy asks for a second factor this host does not offer";
        no.reason_admin = fmt::format("step-up method \"{}\" is not configured under [step_up]", method);
        return no;
    }
    d.outcome = Outcome::StepUp;
    d.step_up_method = method_ok ? "" : method;
    d.needs_purpose = !purpose_ok;
    if (d.reason_user.empty()) {
        d.reason_user = method_ok ? "this request needs a reason" : "this request needs a second factor";
    }
    d.reason_admin += fmt::format("; step-up needed:{}{}", method_ok ? "" : " " + method, purpose_ok ? "" : " purpose");
    return d;
}

// Step 3. sshd checks a certificate only at login: a session it let in
// must not outlive it. An allow's session_max is capped by the
// certificate's valid_before (when the account phase saw one: see README,
// SSH certificates); one already past is a deny.
void cap_by_certificate(Decision& d, const CombineFacts& f) {
    if (f.phase != Phase::Account || d.outcome != Outcome::Allow || !f.certificate_ends) return;
    auto left = std::chrono::duration_cast<std::chrono::seconds>(*f.certificate_ends - f.at);
    if (left.count() <= 0) {
        d.outcome = Outcome::Deny;
        d.reason_user = "access denied: the SSH certificate has expired";
        d.reason_admin += "; the SSH certificate's valid_before has passed";
        return;
    }
    if (d.session_max && *d.session_max <= left) return;
    d.session_max = left;
    d.reason_admin += fmt::format("; session_max {} s: the SSH certificate expires then", left.count());
}

// Step 4. A decision that cannot be written to the trail is not given: an
// allow becomes a deny, so no access goes unrecorded. With [agent]
// audit_failure = "continue" it stands, and the journal (always written)
// holds it; the trail counts it in its next "audit_gap" record. Closing a
// session is never refused: it already ended.
void answer_unrecorded(Decision& d, Phase phase, const std::string& why, AuditFailure on_failure) {
    if (on_failure != AuditFailure::Deny || d.outcome != Outcome::Allow || phase == Phase::CloseSession) return;
    d.outcome = Outcome::Deny;
    d.reason_user = "access denied: the audit trail cannot be written";
    d.reason_admin = "audit write failed: " + why;
}

}  // namespace

Combined combine(Decision first, const CombineFacts& facts, AuditFailure on_failure, const TrailWrite& write) {
    Combined out{demand_step_up(std::move(first), facts), ""};
    cap_by_certificate(out.decision, facts);
    if (!write) return out;
    if (Status s = write(out.decision); !s) {
        out.audit_error = s.error().message;
        answer_unrecorded(out.decision, facts.phase, out.audit_error, on_failure);
    }
    return out;
}

}  // namespace vigil
