// Reaching the PDP: an ordered list of endpoints tried in failover order
// within one deadline, each behind its own circuit breaker, over one
// HttpClient (warm connections, TLS always verified).
//
//   auto t = PdpTransport::create(settings);   // reads the bearer token file
//   PdpExchange x = (*t)->post("/access/v1/evaluation", json, 800ms, request_id);
//   audit["pdp_url"] = x.url;                       // who answered ("" if nobody)
//   for (auto& f : x.failed) audit["pdp_failed"].push_back({f.url, to_string(f.kind)});
//   if (!x.result) return fallback(x.result.error().kind);
//   decide(x.result->body);
//
// An endpoint either answers or has an outage. Outages fail over to the
// next endpoint and count against the endpoint's breaker: transport errors
// (connect, timeout, tls, too_large, other), 5xx, a 1xx/3xx (no answer we
// can read: redirects are not followed) and a 2xx body `accept` cannot
// read. A 4xx is an answer: the PDP read the request and refused it (bad
// body, bad token, wrong path). Every replica would say the same, so it is
// returned at once as an HttpStatus error from that endpoint, and counts
// as a success for the breaker: the endpoint is alive. The caller denies
// (is_refusal); it is no outage, so no fallback applies. When every
// breaker is open, post() fails at once with CircuitOpen, so logins get the
// configured fallback without waiting.
#ifndef VIGIL_PDP_PDP_TRANSPORT_H
#define VIGIL_PDP_PDP_TRANSPORT_H

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "circuit_breaker.h"
#include "http_client.h"
#include "result.h"

namespace vigil {

struct PdpTransportSettings {
    // Base URLs in failover order, e.g. "https://pdp-a.corp:8443". Paths
    // given to post() are appended. http:// is allowed, but not together
    // with a bearer token unless the host is loopback.
    std::vector<std::string> urls{};
    std::string ca_file{};                           // trust only this CA bundle; empty: system store
    std::string client_cert{};                       // mTLS certificate (PEM)
    std::string client_key{};                        // mTLS key (PEM, unencrypted, root-only like the token)
    std::string bearer_token_file{};                 // root-only file holding one token line; empty: none
    std::string pinned_pubkey{};                     // "sha256//<base64>[;...]"; empty: no pin
    std::chrono::milliseconds deadline{1500};        // default budget for one post(), all attempts
    std::chrono::milliseconds connect_timeout{500};  // per attempt, clipped to what is left
    int breaker_failures = 3;
    std::chrono::milliseconds breaker_cooldown{5000};
    size_t max_connections = 4;  // see HttpClientSettings
};

// An endpoint that did not produce the answer, for the audit record.
struct PdpAttempt {
    std::string url{};  // base URL
    HttpErrorKind kind = HttpErrorKind::Other;
    std::string message{};
};

struct PdpExchange {
    HttpResult result;               // the 2xx answer, or why there is none
    std::string url;                 // base URL that produced result; "" if none did
    std::vector<PdpAttempt> failed;  // in order, including endpoints skipped (CircuitOpen)
};

// A 4xx answer: the PDP refused the request, which is an answer (deny),
// not an outage.
bool is_refusal(const HttpError& e);

class PdpTransport {
public:
    // Validates the URLs, reads the bearer token, checks the client key's
    // ownership and mode. now drives the breakers (tests pass a fake clock).
    static Result<std::unique_ptr<PdpTransport>> create(const PdpTransportSettings& settings,
                                                        CircuitBreaker::NowFn now = CircuitBreaker::Clock::now);

    // Reads a 2xx body; an error message marks the answer unusable, which
    // fails over like a 5xx: an endpoint that answers garbage is not healthy.
    using AcceptFn = std::function<std::optional<std::string>(const HttpResponse&)>;

    // POSTs body to path on each endpoint in order until one answers (and
    // `accept`, if given, takes the answer), all within deadline: each
    // attempt gets whatever time is left, and none is started with under
    // 10 ms left. Thread-safe.
    PdpExchange post(std::string_view path, std::string_view body, std::chrono::milliseconds deadline,
                     std::string_view request_id = {}, const AcceptFn& accept = {});

    // For status output: the endpoints in order, and each one's breaker.
    const std::vector<std::string>& urls() const { return urls_; }
    CircuitBreaker::State breaker_state(size_t index) const;

private:
    PdpTransport(std::unique_ptr<HttpClient> client, std::vector<std::string> urls, CircuitBreakerSettings breaker,
                 CircuitBreaker::NowFn now);
    void note_failure(size_t index, const HttpError& e);

    std::unique_ptr<HttpClient> client_;
    std::vector<std::string> urls_;
    CircuitBreakerSettings breaker_settings_;
    std::vector<std::unique_ptr<CircuitBreaker>> breakers_;  // same order as urls_
};

}  // namespace vigil

#endif
