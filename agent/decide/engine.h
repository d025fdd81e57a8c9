// The decision pipeline: request -> identity -> local rules and posture ->
// PDP (with its cache and fallbacks) -> step-up and certificate caps ->
// trail -> answer. vigild's socket handlers and
// `vigilctl decide --config` both go through decide(), so a dry run explains
// exactly what a real request would get.
//
//   Engine engine(config, audit.get());
//   DecisionRecord r = engine.decide(request);   // audited unless a dry run
#ifndef VIGIL_DECIDE_ENGINE_H
#define VIGIL_DECIDE_ENGINE_H

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audit_log.h"
#include "combine.h"
#include "config.h"
#include "decision.h"
#include "decision_record.h"
#include "identity.h"
#include "identity_cache.h"
#include "invoker.h"
#include "local_policy.h"
#include "pdp_cache.h"
#include "pdp_client.h"
#include "recent_decisions.h"
#include "remote_decision.h"
#include "request.h"
#include "signal.h"
#include "signal_store.h"
#include "trusted_cas.h"

namespace vigil {

// A decision begun on vigild's loop thread that needs the PDP
// (Engine::decide_or_pend): the record so far, the rules' match and the
// question, for a worker to finish (Engine::decide_pending). It points into
// the engine's configuration: whoever holds it holds the engine too.
struct PendingDecision {
    DecisionRecord record;
    RuleMatch match;
    RemoteAsk ask;
    std::chrono::steady_clock::time_point start;
};

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
    // For vigild's event loop, which must not wait: who the user is, when
    // this engine may begin deciding req without waiting on anything outside
    // vigild (an account request whose user's identity is cached). nullopt:
    // decide() it on a worker. Nothing is recorded either way.
    std::optional<CachedIdentity> identity_without_waiting(const Request& req) const;
    // resolve_invoker's account names through this engine's caches (the
    // identity cache's rules): with wait, NSS is asked on a miss; without
    // (vigild's loop), a miss is "not known" and a worker resolves again.
    AccountLookups account_lookups(bool wait);
    // decide(), with who from identity_without_waiting, as far as it goes
    // without waiting: the whole record (recorded) when the local rules or a
    // cached PDP allow decide; otherwise the decision so far, unrecorded,
    // which decide_pending finishes (the PDP call, then as decide()).
    std::variant<DecisionRecord, PendingDecision> decide_or_pend(const Request& req, CachedIdentity who);
    DecisionRecord decide_pending(PendingDecision p);
    // Many requests at once (the re-evaluation of live sessions): those the
    // PDP must answer go in one AuthZEN batch request when the PDP speaks
    // AuthZEN; otherwise, and for every other path, as decide() would. One
    // record per request, in order, each audited.
    std::vector<DecisionRecord> decide_all(const std::vector<Request>& reqs);
    // Records (audits) a decision reached outside the rules and the PDP: a
    // step-up that failed (path "step_up"), a request refused unread ("refused").
    DecisionRecord conclude(const Request& req, Decision d, std::string path = "step_up");
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
    // What every record holds: an id, the time, the request, who the user
    // is, the posture, the policy version, whether it is only reported.
    DecisionRecord stamp(const Request& req) const;
    DecisionRecord stamp(const Request& req, CachedIdentity who) const;
    // stamp, and the certificate the login used: where a decision starts.
    DecisionRecord begin(const Request& req) const;
    DecisionRecord begin(const Request& req, CachedIdentity who) const;
    // A begun record decided, finished and recorded; latency counts from start.
    DecisionRecord decided(DecisionRecord r, std::chrono::steady_clock::time_point start);
    // The first answer (combine.h, step 1): the local rules' or the PDP's.
    // m then holds the rules' match, whose allow rule step-up reads.
    Decision decide_first(DecisionRecord& r, RuleMatch& m);
    // Everything decide_first does before the PDP: a decision, or empty when
    // the PDP must be asked.
    std::optional<Decision> decide_before_pdp(DecisionRecord& r, RuleMatch& m) const;
    Decision link_session(DecisionRecord& r) const;
    std::string unmet(const std::vector<posture::Requirement>& reqs, const DecisionRecord& r) const;
    // r.decision is the first answer: combines it with the rest (combine.h),
    // records it unless a dry run, and reports it.
    void finish(DecisionRecord& r, const Rule* allow, std::chrono::steady_clock::time_point start);
    // r.decision combined with the rest (combine.h, steps 2-4), written
    // through write (empty for a dry run); r keeps the combined decision.
    void settle(DecisionRecord& r, const Rule* allow, TrailWrite write);
    CombineFacts facts_for(const DecisionRecord& r, const Rule* allow) const;
    Status write_record(DecisionRecord& r, const Decision& d);
    void report(const DecisionRecord& r);

    std::shared_ptr<const Config> config_;
    AuditLog* audit_;
    RecentDecisions* recent_;
    PdpCache* last_answers_;
    posture::SignalStore* posture_;
    std::unique_ptr<PdpClient> pdp_;  // null with protocol = "local"
    TrustedCas cas_;
    std::unique_ptr<IdentityCache> identities_;
    std::unique_ptr<IdentityCache> accounts_;  // by uid (as text): the account's name
    PdpCache allow_cache_;
    PdpCache own_last_answers_;  // when the caller keeps none
};

}  // namespace vigil

#endif
