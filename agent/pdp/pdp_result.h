// What asking the PDP came to: its answer and obligations, or why there
// is none, with what the trail and `vigilctl decide --json` show of the
// exchange.
#ifndef VIGIL_PDP_PDP_RESULT_H
#define VIGIL_PDP_PDP_RESULT_H

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "obligations.h"
#include "pdp_transport.h"

namespace vigil {

enum class PdpStatus {
    Answered,  // a well-formed answer with obligations this agent can carry out
    Refused,   // a well-formed answer asking for something we cannot do: deny
    Declined,  // the PDP refused to decide (a 4xx): its answer is no, never a fallback
    Failed,    // no usable answer (down, slow, 5xx, TLS, garbage): fallback
};

struct PdpResult {
    PdpStatus status = PdpStatus::Failed;
    bool allow = false;
    Obligations obligations;
    std::string error;       // Refused / Declined / Failed: why, for the admin
    std::string error_kind;  // "timeout", "connect", "tls", "http_status", "malformed", "obligation", ...
    std::string url;         // the endpoint that answered
    std::vector<PdpAttempt> failed;
    std::chrono::microseconds latency{0};
    nlohmann::ordered_json request;  // the body sent, for vigilctl decide --json
    std::string response;            // the raw body received
    // Asked in an AuthZEN batch: its id and how many evaluations it held.
    std::string batch_id;
    size_t batch_size = 0;
    // Answered by the call made for this request id: the same question was
    // already out (shared_calls.h).
    std::string shared_with;
};

}  // namespace vigil

#endif
