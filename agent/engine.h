// The decision pipeline: request -> identity -> local rules -> (posture,
// PDP: later) -> audit -> answer. vigild's socket handlers and
// `vigilctl decide --config` both go through decide(), so a dry run explains
// exactly what a real request would get.
//
//   Engine engine(config, audit.get());
//   DecisionRecord r = engine.decide(request);   // audited unless a dry run
#ifndef VIGIL_AGENT_ENGINE_H
#define VIGIL_AGENT_ENGINE_H

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit_log.h"
#include "config.h"
#include "decision.h"
#include "identity.h"
#include "local_policy.h"
#include "pdp_cache.h"
#include "pdp_client.h"
#include "posture/signal.h"
#include "posture/signal_store.h"
#include "recent_decisions.h"
#include "request.h"
#include "trusted_cas.h"

namespace vigil {

struct DecisionRecord {
    std::string request_id;
    std::chrono::system_clock::time_point at;
    Request request;
    std::optional<Identity> identity;
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

nlohmann::ordered_json to_json(const DecisionRecord& r);

// The outcome as the trail, the journal and the metrics name it: the
// decision's, or in report mode what it would have been ("would_deny",
// "would_step_up"; an allow stays "allow").
std::string recorded_outcome(const DecisionRecord& r);

// How long an allowed grant request is granted for: what it asked, capped
// by [grants] max and by the decision's session_max.
std::chrono::seconds grant_length_given(const Request& q, const Decision& d);

class Engine {
public:
    // audit, recent and last_answers may be null (dry runs from vigilctl
    // --config). They outlive the engine, which is replaced whole when the
    // policy reloads. Fails when the PDP settings do (e.g. a token file
    // others can read).
    // posture may be null too: then no signal is known and every posture
    // requirement fails.
    static Result<std::shared_ptr<Engine>> create(std::shared_ptr<const Config> config, AuditLog* audit,
                                                  RecentDecisions* recent, PdpCache* last_answers,
                                                  posture::SignalStore* posture = nullptr);

    DecisionRecord decide(const Request& req);
    // Many requests at once (the re-evaluation of live sessions): those the
    // PDP must answer go in one AuthZEN batch request when the PDP speaks
    // AuthZEN; otherwise, and for every other path, as decide() would. One
    // record per request, in order, each audited.
    std::vector<DecisionRecord> decide_all(const std::vector<Request>& reqs);
    // Records (audits) a decision reached outside the rules and the PDP: a
    // step-up that failed (path "stepup"), a request refused unread ("refused").
    DecisionRecord conclude(const Request& req, Decision d, std::string path = "stepup");
    // Writes a record that is not a decision (refused grant requests,
    // counted: grant_refusals.h) to the trail; a failure is logged and
    // returns false.
    bool append_to_trail(nlohmann::ordered_json record);
    const std::string& policy_version() const { return config_->version; }

    Engine(std::shared_ptr<const Config> config, AuditLog* audit, RecentDecisions* recent, PdpCache* last_answers,
           posture::SignalStore* posture, std::unique_ptr<PdpClient> pdp, TrustedCas cas = {});

    // Posture changed: answers given for the old posture must not be reused.
    void forget_cached_answers();
    posture::Snapshot posture_snapshot() const { return posture_ ? posture_->snapshot() : posture::Snapshot{}; }
    const Config& config() const { return *config_; }
    const PdpClient* pdp() const { return pdp_.get(); }  // null with protocol = "local"

private:
    DecisionRecord begin(const Request& req) const;
    void finish(DecisionRecord& r, std::chrono::steady_clock::time_point start);
    Decision decide_with(DecisionRecord& r);
    // Everything decide_with does before the PDP: a decision, or empty when
    // the PDP must be asked (m then holds the rules' match).
    std::optional<Decision> decide_before_pdp(DecisionRecord& r, RuleMatch& m) const;
    Decision link_session(DecisionRecord& r) const;
    Decision demand_step_up(Decision d, const Rule* allow, const DecisionRecord& r) const;
    bool offers(const std::string& method) const;
    std::string unmet(const std::vector<posture::Requirement>& reqs, const DecisionRecord& r) const;
    void record(DecisionRecord& r);

    std::shared_ptr<const Config> config_;
    AuditLog* audit_;
    RecentDecisions* recent_;
    PdpCache* last_answers_;
    posture::SignalStore* posture_;
    std::unique_ptr<PdpClient> pdp_;  // null with protocol = "local"
    TrustedCas cas_;
    PdpCache allow_cache_;
    PdpCache own_last_answers_;  // when the caller keeps none
};

}  // namespace vigil

#endif
