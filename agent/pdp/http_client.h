// POSTs JSON over HTTPS (libcurl) on warm connections, for talking to the PDP;
// also GETs and form POSTs, for talking to an OpenID provider.
//
//   auto client = HttpClient::create({.ca_file = "/etc/vigil/pdp-ca.pem"});
//   if (!client) return client.error();
//   HttpResult r = (*client)->post("https://pdp:8443/access/v1/evaluation", json, 800ms);
//   if (!r) audit["pdp_error"] = to_string(r.error().kind);   // "timeout", "tls", ...
//   else decide(r->body);                                      // r->reused_connection
//
//   HttpResult t = (*client)->post_form(token_url, {{"grant_type", "..."}, {"device_code", code}}, 5s);
//
// Connections stay open between requests, so a decision costs one round trip,
// not a TCP and TLS handshake. The client keeps up to max_connections curl
// handles in a pool; each handle keeps its own connections alive, and the
// most recently used handle is handed out first, so sequential requests all
// ride one connection. A CURLSH shares the DNS cache and TLS sessions between
// the handles, so a second concurrent connection resumes the TLS session
// instead of doing a full handshake. (The connection cache itself is not
// shared: libcurl documents a shared connection cache as unsafe across
// threads — KNOWN_BUGS "A shared connection cache is not thread-safe".)
//
// TLS peer and host name verification are always on; there is no setting to
// turn them off. Redirects are never followed, only http and https are
// spoken, and proxy environment variables are ignored.
#ifndef VIGIL_PDP_HTTP_CLIENT_H
#define VIGIL_PDP_HTTP_CLIENT_H

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "result.h"
#include "secret_file.h"

namespace vigil {

// Why a request produced no usable answer, in words short enough for an
// audit field (to_string gives "connect", "timeout", ...).
enum class HttpErrorKind {
    Connect,      // could not resolve or reach the server
    Timeout,      // the deadline passed (connecting or waiting for the answer)
    Tls,          // handshake, certificate, host name or pin mismatch
    HttpStatus,   // the server answered, but not 2xx
    TooLarge,     // the answer exceeded max_response_bytes
    Busy,         // every pooled connection stayed in use until the deadline
    CircuitOpen,  // PdpTransport skipped the endpoint: its circuit breaker is open
    Malformed,    // a 2xx answer the caller could not read (PdpTransport's accept check)
    Other,        // anything else (connection dropped mid-answer, bad URL, ...)
};

std::string_view to_string(HttpErrorKind kind);

struct HttpError {
    HttpErrorKind kind = HttpErrorKind::Other;
    std::string message{};  // one line for the admin; never contains the token
    long status = 0;        // HttpStatus only
    std::string body{};     // HttpStatus only: the server's explanation
};

struct HttpResponse {
    long status = 0;
    std::string body;
    std::chrono::microseconds elapsed{0};  // the whole call, including waiting for a handle
    bool reused_connection = false;        // no new connection was made (CURLINFO_NUM_CONNECTS 0)
};

// Result<HttpResponse>, but the error carries a kind and status, which
// vigil::Error (a message) cannot.
class [[nodiscard]] HttpResult {
public:
    HttpResult(HttpResponse value) : v_(std::move(value)) {}
    HttpResult(HttpError error) : v_(std::move(error)) {}
    explicit operator bool() const { return v_.index() == 0; }
    HttpResponse& operator*() { return std::get<0>(v_); }
    const HttpResponse& operator*() const { return std::get<0>(v_); }
    HttpResponse* operator->() { return &std::get<0>(v_); }
    const HttpResponse* operator->() const { return &std::get<0>(v_); }
    const HttpError& error() const { return std::get<1>(v_); }

private:
    std::variant<HttpResponse, HttpError> v_;
};

// One field of an application/x-www-form-urlencoded body. The value may be a
// secret (a client secret, a device code): post_form wipes the encoded body.
struct FormField {
    std::string_view name;
    std::string_view value;
};

struct HttpClientSettings {
    // PEM bundle to trust instead of the system store; empty: system store.
    std::string ca_file{};
    // "sha256//<base64 of the SPKI hash>", several joined by ';'; empty: no pin.
    std::string pinned_pubkey{};
    // mTLS: PEM certificate and unencrypted PEM key; both or neither.
    std::string client_cert{};
    std::string client_key{};
    // Sent as "Authorization: Bearer <token>" on every request; empty: none.
    Secret bearer_token{};
    // Pooled handles: the most requests in flight at once, and so the most
    // connections kept open to one endpoint.
    size_t max_connections = 4;
    size_t max_response_bytes = 1 << 20;
    // Clipped to each request's timeout. Below the PDP deadline, so that a
    // primary that drops SYNs leaves time to fail over.
    std::chrono::milliseconds connect_timeout{1000};
};

class HttpClient {
public:
    // Checks the settings (readable files, pin syntax) so mistakes show at
    // startup rather than at the first login.
    static Result<std::unique_ptr<HttpClient>> create(HttpClientSettings settings);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // POSTs body as application/json to url, giving up after timeout (which
    // covers waiting for a pooled handle, connecting and the answer). A non-2xx
    // answer is an HttpStatus error carrying status and body. request_id, if
    // given, is sent as X-Request-ID (AuthZEN's correlation header).
    // Thread-safe.
    HttpResult post(const std::string& url, std::string_view body, std::chrono::milliseconds timeout,
                    std::string_view request_id = {});

    // POSTs fields form-encoded (OAuth 2.0 token and device authorization
    // requests), otherwise as post(): Accept: application/json, the bearer
    // token if one is set, a non-2xx answer is an HttpStatus error. Thread-safe.
    HttpResult post_form(const std::string& url, const std::vector<FormField>& fields,
                         std::chrono::milliseconds timeout);

    // GETs url (OpenID discovery, JWKS), otherwise as post(). Thread-safe.
    HttpResult get(const std::string& url, std::chrono::milliseconds timeout);

    // New connections made so far, across all handles (for tests and status).
    size_t connections_opened() const;

private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vigil

#endif
