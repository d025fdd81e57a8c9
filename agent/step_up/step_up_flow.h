// One round of sshd's auth-phase step-up, from what the person answered to
// what the module is told next: another prompt, or the decision. A failed
// proof is a deny, recorded; a completed one is decided again (the PDP sees
// context.mfa) and, when allowed, remembered for the account phase; a
// decision that still wants more opens the next challenge. The socket layer
// only encodes what this returns (ipc/routes.cc).
//
//   StepUpNext next = continue_step_up(engine, coordinator, coordinator.answer(id, typed, peer, deadline));
//   return next.prompt ? encode_challenge(kind, *next.prompt) : encode_pam_answer(kind, next.record);
#ifndef VIGIL_STEP_UP_STEP_UP_FLOW_H
#define VIGIL_STEP_UP_STEP_UP_FLOW_H

#include <optional>

#include "engine.h"
#include "step_up.h"

namespace vigil {

struct StepUpNext {
    std::optional<StepUpPrompt> prompt;  // ask this next
    DecisionRecord record;               // else: the answer, recorded
};

StepUpNext continue_step_up(Engine& engine, StepUpCoordinator& step_up, StepUpReply reply);

}  // namespace vigil

#endif
