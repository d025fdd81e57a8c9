#include "step_up_flow.h"

namespace vigil {

StepUpNext continue_step_up(Engine& engine, StepUpCoordinator& step_up, StepUpReply reply) {
    for (;;) {
        switch (reply.kind) {
            case StepUpReply::Kind::Ask: return {reply.next, {}};
            case StepUpReply::Kind::Fail: {
                Decision d;
                d.reason_user = reply.reason_user;
                d.reason_admin = "step-up failed: " + reply.reason_admin;
                return {std::nullopt, engine.conclude(reply.request, std::move(d))};
            }
            case StepUpReply::Kind::Done: break;
        }
        DecisionRecord r = engine.decide(reply.request);
        if (r.decision.outcome == Outcome::Allow) step_up.remember(reply.request);
        if (r.decision.outcome != Outcome::StepUp) return {std::nullopt, std::move(r)};
        reply = step_up.open(r.request, r.decision);
    }
}

}  // namespace vigil
