// PAM request frames <-> Request, and decisions -> answer frames. Everything
// a peer sends is checked here: required fields, sizes, numbers, duplicates.
// A frame that fails any check is refused whole.
#ifndef VIGIL_IPC_REQUEST_CODEC_H
#define VIGIL_IPC_REQUEST_CODEC_H

#include <cstdint>
#include <vector>

#include "engine.h"
#include "frame_io.h"
#include "protocol.h"
#include "request.h"
#include "result.h"
#include "step_up.h"

namespace vigil {

// The phase a PAM request kind asks about (StepUpAnswer: Auth).
Phase phase_of(wire::Kind kind);

// kind must be one of Account, Auth, OpenSession, CloseSession.
Result<Request> decode_pam_request(wire::Kind kind, const std::vector<uint8_t>& payload);

std::vector<uint8_t> encode_pam_answer(wire::Kind kind, const DecisionRecord& r);

// A StepUpAnswer frame: which challenge, and what the person typed.
struct StepUpAnswerFrame {
    std::string challenge_id;
    std::string response;
    std::chrono::milliseconds budget{3000};
};
Result<StepUpAnswerFrame> decode_step_up_answer(const std::vector<uint8_t>& payload);

// Outcome "challenge": what the module asks the person next.
std::vector<uint8_t> encode_challenge(wire::Kind kind, const StepUpPrompt& p);

// When a PAM request's module began to ask and how long it listens: its
// AskedAtMs stamp when that lies within its budget before `accepted` (else
// `accepted`: an older module, or a clock from another time namespace), and
// its BudgetMs (else the module's default). Time spent in the listen
// backlog and in vigild's queue both count against the budget.
struct ModuleTiming {
    std::chrono::steady_clock::time_point asked;
    std::chrono::milliseconds budget;
};
ModuleTiming timing_of(const Frame& f, std::chrono::steady_clock::time_point accepted);

// The answer to a request that waited for a worker until its module would
// have stopped listening: an explicit deny, never a silent timeout (which
// failmode=open would turn into an allow).
std::vector<uint8_t> encode_busy_answer(wire::Kind kind);

// A deny for a request that cannot be decided at all (vigild failed while
// deciding it): kind is the request's, whatever it was.
std::vector<uint8_t> refusal_to(uint16_t kind, std::string_view why);

}  // namespace vigil

#endif
