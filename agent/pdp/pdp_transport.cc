#include "pdp_transport.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>

#include <utility>

#include "curl_library.h"
#include "log.h"
#include "secret_file.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// An attempt started with less time than this left is not made: it could
// hardly succeed, and its timeout would count against a healthy endpoint.
constexpr milliseconds kMinAttempt{10};

// One part of a parsed URL; empty when absent.
std::string url_part(CURLU* u, CURLUPart part) {
    char* value = nullptr;
    if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
    std::string out(value);
    curl_free(value);
    return out;
}

bool is_loopback(std::string host) {
    if (host == "localhost") return true;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);  // curl keeps IPv6 brackets
    }
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Status check_url(const std::string& url, bool sends_token) {
    if (Status s = load_curl(); !s) return s;
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
    if (!u) return err("out of memory");
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return err(fmt::format("pdp url \"{}\": not a URL (expected https://host[:port][/prefix])", url));
    }
    std::string scheme = url_part(u.get(), CURLUPART_SCHEME);
    if (scheme != "https" && scheme != "http") {
        return err(fmt::format("pdp url \"{}\": scheme must be https or http", url));
    }
    // Credentials in a URL end up in logs and the audit trail.
    if (!url_part(u.get(), CURLUPART_USER).empty()) {
        return err(fmt::format("pdp url \"{}\": must not carry credentials; use bearer_token_file", url));
    }
    if (!url_part(u.get(), CURLUPART_QUERY).empty() || !url_part(u.get(), CURLUPART_FRAGMENT).empty()) {
        return err(fmt::format("pdp url \"{}\": must not have a query or fragment; paths are appended", url));
    }
    if (sends_token && scheme == "http" && !is_loopback(url_part(u.get(), CURLUPART_HOST))) {
        return err(fmt::format("pdp url \"{}\": would send the bearer token in clear text; use https", url));
    }
    return Ok{};
}

Status check_settings(const PdpTransportSettings& s) {
    if (s.urls.empty()) return err("no pdp urls configured");
    if (s.deadline <= milliseconds(0)) return err("pdp deadline must be positive");
    if (s.connect_timeout <= milliseconds(0)) return err("pdp connect_timeout must be positive");
    if (s.breaker_failures < 1) return err("pdp breaker_failures must be at least 1");
    if (s.breaker_cooldown <= milliseconds(0)) return err("pdp breaker_cooldown must be positive");
    for (const std::string& url : s.urls) {
        if (Status st = check_url(url, !s.bearer_token_file.empty()); !st) return st;
    }
    // The key is a secret like the token, though curl is the one to read it.
    if (!s.client_key.empty()) return check_secret_file(s.client_key);
    return Ok{};
}

Result<std::unique_ptr<HttpClient>> make_client(const PdpTransportSettings& s) {
    HttpClientSettings hs;
    hs.ca_file = s.ca_file;
    hs.pinned_pubkey = s.pinned_pubkey;
    hs.client_cert = s.client_cert;
    hs.client_key = s.client_key;
    hs.max_connections = s.max_connections;
    hs.connect_timeout = s.connect_timeout;
    if (!s.bearer_token_file.empty()) {
        auto token = read_secret_file(s.bearer_token_file);
        if (!token) return token.error();
        hs.bearer_token = std::move(*token);
    }
    return HttpClient::create(std::move(hs));
}

std::string join_url(std::string_view base, std::string_view path) {
    while (base.ends_with('/')) base.remove_suffix(1);
    std::string url(base);
    if (!path.starts_with('/')) url += '/';
    url += path;
    return url;
}

// Everything but an answer the PDP meant for us is worth asking the next one.
bool fails_over(const HttpError& e) { return !is_refusal(e); }

// The error for an exchange in which no endpoint answered: the kind of the
// last real attempt (what the admin should look at first), and every
// attempt in the message.
HttpError give_up(const std::vector<PdpAttempt>& failed) {
    if (failed.empty()) {
        return {.kind = HttpErrorKind::Timeout, .message = "no time left to ask the PDP"};
    }
    HttpErrorKind kind = HttpErrorKind::CircuitOpen;
    std::string message = "no PDP endpoint answered:";
    for (const PdpAttempt& a : failed) {
        if (a.kind != HttpErrorKind::CircuitOpen) kind = a.kind;
        message += fmt::format(" {}: {}: {};", a.url, to_string(a.kind), a.message);
    }
    message.pop_back();
    return {.kind = kind, .message = std::move(message)};
}

}  // namespace

bool is_refusal(const HttpError& e) { return e.kind == HttpErrorKind::HttpStatus && e.status >= 400 && e.status < 500; }

Result<std::unique_ptr<PdpTransport>> PdpTransport::create(const PdpTransportSettings& settings,
                                                           CircuitBreaker::NowFn now) {
    if (Status st = check_settings(settings); !st) return st.error();
    auto client = make_client(settings);
    if (!client) return client.error();
    CircuitBreakerSettings breaker{settings.breaker_failures, settings.breaker_cooldown};
    return std::unique_ptr<PdpTransport>(new PdpTransport(std::move(*client), settings.urls, breaker, std::move(now)));
}

PdpTransport::PdpTransport(std::unique_ptr<HttpClient> client, std::vector<std::string> urls,
                           CircuitBreakerSettings breaker, CircuitBreaker::NowFn now)
    : client_(std::move(client)), urls_(std::move(urls)), breaker_settings_(breaker) {
    for (size_t i = 0; i < urls_.size(); ++i) {
        breakers_.push_back(std::make_unique<CircuitBreaker>(breaker, now));
    }
}

PdpExchange PdpTransport::post(std::string_view path, std::string_view body, milliseconds deadline,
                               std::string_view request_id, const AcceptFn& accept) {
    const Clock::time_point until = Clock::now() + deadline;
    std::vector<PdpAttempt> failed;
    for (size_t i = 0; i < urls_.size(); ++i) {
        auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
        if (left < kMinAttempt) break;
        CircuitBreaker& breaker = *breakers_[i];
        if (!breaker.allow()) {
            failed.push_back({urls_[i], HttpErrorKind::CircuitOpen,
                              fmt::format("skipped; next probe in {}ms", breaker.retry_in().count())});
            continue;
        }
        HttpResult r = client_->post(join_url(urls_[i], path), body, left, request_id);
        if (r && accept) {
            if (auto why = accept(*r)) r = HttpResult(HttpError{HttpErrorKind::Malformed, *why});
        }
        if (r || !fails_over(r.error())) {
            if (breaker.record_success()) {
                log_event(Event::PdpCircuitClosed, LogLevel::Info, "pdp {}: answering again; circuit closed", urls_[i]);
            }
            return {std::move(r), urls_[i], std::move(failed)};
        }
        note_failure(i, r.error());
        failed.push_back({urls_[i], r.error().kind, r.error().message});
    }
    return {HttpResult(give_up(failed)), "", std::move(failed)};
}

void PdpTransport::note_failure(size_t index, const HttpError& e) {
    // Busy is our own pool running dry, not the endpoint failing.
    if (e.kind == HttpErrorKind::Busy) return;
    if (breakers_[index]->record_failure()) {
        log_event(Event::PdpCircuitOpen, LogLevel::Warning,
                  "pdp {}: circuit open after {} failure(s) in a row, last {}: {}; skipping it for {}ms", urls_[index],
                  breaker_settings_.failure_threshold, to_string(e.kind), e.message,
                  breaker_settings_.cooldown.count());
    }
}

CircuitBreaker::State PdpTransport::breaker_state(size_t index) const { return breakers_.at(index)->state(); }

}  // namespace vigil
