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

#include "audit_log.h"
#include "config.h"
#include "decision.h"
#include "identity.h"
#include "recent_decisions.h"
#include "request.h"
#include "posture/signal.h"

namespace vigil {

struct DecisionRecord {
    std::string request_id;
    std::chrono::system_clock::time_point at;
    Request request;
    std::optional<Identity> identity;
    posture::Snapshot signals;
    Decision decision;
    std::string policy_version;
    std::chrono::microseconds latency{0};
    std::string decision_id;  // sessions: the account decision they follow
    std::string audit_error;  // set when the trail could not be written
};

nlohmann::ordered_json to_json(const DecisionRecord& r);

class Engine {
public:
    // audit and recent may be null (dry runs from vigilctl --config). Both
    // outlive the engine, which is replaced whole when the policy reloads.
    Engine(std::shared_ptr<const Config> config, AuditLog* audit, RecentDecisions* recent);

    DecisionRecord decide(const Request& req);
    const std::string& policy_version() const { return config_->version; }

private:
    Decision decide_with(DecisionRecord& r) const;
    Decision link_session(DecisionRecord& r) const;
    void record(DecisionRecord& r);

    std::shared_ptr<const Config> config_;
    AuditLog* audit_;
    RecentDecisions* recent_;
};

}  // namespace vigil

#endif
