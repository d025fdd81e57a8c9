// One request/answer exchange with vigild over its unix socket, bounded by a
// hard deadline: a dead, hung or lying agent costs at most timeout_ms.
//
//   AgentAnswer answer;
//   ClientStatus s = ask_agent("/run/vigil/pam.sock", 3000, frame, n, answer);
#ifndef VIGIL_WIRE_AGENT_CLIENT_H
#define VIGIL_WIRE_AGENT_CLIENT_H

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol.h"

namespace vigil::wire {

enum class ClientStatus {
    Ok,
    Unreachable,  // no socket, refused, or permission denied
    Timeout,      // the deadline passed before a whole answer arrived
    Closed,       // the agent hung up mid-exchange
    Garbage,      // the answer is not a well-formed frame of the expected kind
};

const char* describe(ClientStatus s);

struct AgentAnswer {
    std::string_view outcome;      // one of kOutcome* (protocol.h)
    std::string_view reason_user;  // safe to show; sanitised before display
    std::string_view request_id;
    std::string_view session_max_seconds;
    // "challenge" (auth phase): what to ask the person next.
    std::string_view challenge_id;
    std::string_view prompt;
    std::string_view echo;   // "on": show what is typed
    std::string_view info;   // shown before the prompt
    uint8_t buf[kMaxFrame];  // backing store for the views above
};

// The answer to kind in answer.buf[0, len): one whole frame, nothing after
// it. Garbage for anything else; the views in answer point into answer.buf.
[[nodiscard]] ClientStatus parse_answer(size_t len, Kind kind, AgentAnswer& answer);

// Reads the answer to kind from fd (non-blocking) into answer, waiting until
// deadline (monotonic_ms) at most; what has already arrived is read even
// past it. Used by ask_agent; its own for the tests.
[[nodiscard]] ClientStatus receive_answer(int fd, Kind kind, int64_t deadline, AgentAnswer& answer);

// The StepUpAnswer frame for a challenge: what the person typed, sent back
// under the challenge's id. 0 when it does not fit.
size_t step_up_answer_frame(std::string_view challenge_id, const char* typed, int budget_ms, uint8_t* buf, size_t cap);

[[nodiscard]] ClientStatus ask_agent(const char* socket_path, int timeout_ms, Kind kind, const uint8_t* frame,
                                     size_t frame_len, AgentAnswer& answer);

}  // namespace vigil::wire

#endif
