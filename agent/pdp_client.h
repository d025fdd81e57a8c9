// Asks the configured remote PDP about one request and says exactly what
// happened: the answer and its obligations, or why there is none.
//
//   auto pdp = PdpClient::create(config.pdp);        // Result<unique_ptr<PdpClient>>
//   PdpResult r = (*pdp)->ask(query, request_id, 800ms);
//   if (r.status == PdpStatus::Failed) apply_fallback(r.error);
#ifndef VIGIL_AGENT_PDP_CLIENT_H
#define VIGIL_AGENT_PDP_CLIENT_H

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config.h"
#include "obligations.h"
#include "pdp_protocols.h"
#include "pdp_query.h"
#include "pdp_transport.h"
#include "result.h"

namespace vigil {

enum class PdpStatus {
    Answered,  // a well-formed answer with obligations this agent can carry out
    Refused,   // a well-formed answer asking for something we cannot do: deny
    Failed,    // no usable answer (down, slow, 5xx, TLS, garbage): fallback
};

struct PdpResult {
    PdpStatus status = PdpStatus::Failed;
    bool allow = false;
    Obligations obligations;
    std::string error;       // Refused / Failed: why, for the admin
    std::string error_kind;  // "timeout", "connect", "tls", "http_status", "malformed", "obligation", ...
    std::string url;         // the endpoint that answered
    std::vector<PdpAttempt> failed;
    std::chrono::microseconds latency{0};
    nlohmann::ordered_json request;  // the body sent, for vigilctl decide --json
    std::string response;            // the raw body received
};

class PdpClient {
public:
    static Result<std::unique_ptr<PdpClient>> create(const PdpSettings& settings);

    PdpResult ask(const PdpQuery& query, const std::string& request_id, std::chrono::milliseconds deadline);

    const PdpSettings& settings() const { return settings_; }
    // For vigilctl status: the endpoints and their circuit breakers.
    const PdpTransport& transport() const { return *transport_; }

private:
    PdpClient(PdpSettings settings, std::unique_ptr<PdpTransport> transport);
    PdpResult ask_once(const PdpQuery& query, const std::string& request_id, std::chrono::milliseconds deadline);
    PdpCall call_for(const PdpQuery& query, const std::string& request_id) const;
    Result<PdpAnswer> parse(const std::string& body, const PdpQuery& query) const;

    PdpSettings settings_;
    std::unique_ptr<PdpTransport> transport_;
};

}  // namespace vigil

#endif
