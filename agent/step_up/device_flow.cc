#include "device_flow.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "http_client.h"
#include "jwks.h"
#include "log.h"
#include "secret_file.h"

namespace vigil {

namespace {

using Json = nlohmann::json;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kDeviceCodeGrant[] = "urn:ietf:params:oauth:grant-type:device_code";
constexpr seconds kDefaultInterval{5};  // RFC 8628 §3.2, when the provider names none
constexpr seconds kSlowDownStep{5};     // RFC 8628 §3.5
constexpr seconds kMaxInterval{60};
constexpr seconds kMaxCodeLifetime{3600};
constexpr auto kMetadataTtl = std::chrono::hours(1);
constexpr auto kJwksTtl = std::chrono::hours(1);
// An unknown kid refetches the JWKS, but not more often than this: a token
// with a made-up kid must not make vigild hammer the provider.
constexpr seconds kJwksRefetchGap{30};
constexpr size_t kMaxShownField = 512;
constexpr milliseconds kMinPollTimeout{1000};

// Text from the provider that we show on the user's terminal: printable
// ASCII only, so it cannot carry terminal escape sequences.
bool printable(std::string_view text) {
    return !text.empty() && text.size() <= kMaxShownField &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

std::string string_member(const Json& j, const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Overwrites every string in a parsed answer (tokens, codes) before it is freed.
void wipe_strings(Json& j) {
    if (j.is_string()) {
        auto& s = j.get_ref<std::string&>();
        OPENSSL_cleanse(s.data(), s.size());
    } else if (j.is_structured()) {
        for (Json& child : j) wipe_strings(child);
    }
}

struct WipedString {
    std::string text;
    ~WipedString() { OPENSSL_cleanse(text.data(), text.size()); }
};

std::string describe(const HttpError& e) {
    return e.kind == HttpErrorKind::HttpStatus ? e.message : fmt::format("{}: {}", to_string(e.kind), e.message);
}

// How long one HTTP call may take: http_timeout, cut to what is left before
// deadline, which http_timeout knows nothing of. No time left: no call.
Result<milliseconds> call_timeout(Steady::time_point deadline, milliseconds http_timeout) {
    auto left = std::chrono::floor<milliseconds>(deadline - Steady::now());
    if (left <= milliseconds(0)) return err("no time left before the PAM module's deadline");
    return std::min(left, http_timeout);
}

// describe(), saying when the deadline, not http_timeout, ended the call.
std::string describe(const HttpError& e, milliseconds timeout, milliseconds http_timeout) {
    std::string why = describe(e);
    if (e.kind == HttpErrorKind::Timeout && timeout < http_timeout) {
        why += fmt::format(" (the PAM module's deadline left {} ms of http_timeout {} ms)", timeout.count(),
                           http_timeout.count());
    }
    return why;
}

// An OAuth 2.0 error answer (RFC 6749 §5.2): {"error": "...", "error_description": "..."}.
struct OAuthError {
    std::string error;
    std::string description;
    std::string summary() const {
        std::string d = printable(description) ? description : "";
        return d.empty() ? error : fmt::format("{} ({})", error, d);
    }
};

std::optional<OAuthError> oauth_error(const HttpError& e) {
    if (e.kind != HttpErrorKind::HttpStatus) return std::nullopt;
    Json j = Json::parse(e.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    OAuthError out{string_member(j, "error"), string_member(j, "error_description")};
    if (!printable(out.error)) return std::nullopt;
    return out;
}

// --- the provider: discovery and keys, cached per issuer -----------------

struct ProviderMetadata {
    std::string device_authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
};

Result<ProviderMetadata> parse_metadata(std::string_view body, const std::string& issuer) {
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return err("discovery document is not a JSON object");
    // OpenID Connect Discovery §4.3: the issuer must be exactly the one asked
    // about, or another provider could speak for ours.
    std::string iss = string_member(j, "issuer");
    if (iss != issuer) {
        return err(fmt::format("discovery names issuer \"{}\", not \"{}\"", printable(iss) ? iss : "?", issuer));
    }
    ProviderMetadata m{string_member(j, "device_authorization_endpoint"), string_member(j, "token_endpoint"),
                       string_member(j, "jwks_uri")};
    if (m.device_authorization_endpoint.empty()) return err("the provider offers no device_authorization_endpoint");
    const std::pair<const char*, const std::string*> urls[] = {
        {"device_authorization_endpoint", &m.device_authorization_endpoint},
        {"token_endpoint", &m.token_endpoint},
        {"jwks_uri", &m.jwks_uri},
    };
    for (auto [what, url] : urls) {
        if (Status st = check_provider_url(*url, what); !st) return st.error();
    }
    return m;
}

class ProviderCache {
public:
    ProviderCache(std::string issuer, std::unique_ptr<HttpClient> http)
        : issuer_(std::move(issuer)), http_(std::move(http)) {}

    HttpClient& http() { return *http_; }

    // Ends by deadline (the PAM module's), the wait for another caller's
    // discovery included.
    Result<ProviderMetadata> metadata(Steady::time_point deadline, milliseconds http_timeout) {
        std::string url = issuer_;
        if (url.ends_with('/')) url.pop_back();  // Discovery §4: no double slash
        url += "/.well-known/openid-configuration";
        std::unique_lock lock(metadata_mu_, deadline);
        if (!lock) return err(fmt::format("discovery at {}: still under way for another sign-in", url));
        if (metadata_ && Steady::now() - metadata_at_ < kMetadataTtl) return *metadata_;
        auto timeout = call_timeout(deadline, http_timeout);
        if (!timeout) return err(fmt::format("discovery at {}: {}", url, timeout.error().message));
        HttpResult r = http_->get(url, *timeout);
        if (!r) return err(fmt::format("discovery at {}: {}", url, describe(r.error(), *timeout, http_timeout)));
        auto m = parse_metadata(r->body, issuer_);
        if (!m) return err(fmt::format("discovery at {}: {}", url, m.error().message));
        metadata_ = *m;
        metadata_at_ = Steady::now();
        return *m;
    }

    // The keys, fetched again when old, or when they lack the token's kid.
    // Ends within timeout (the poll's: nobody's PAM module waits for this),
    // the wait for another caller's fetch included.
    Result<Jwks> keys_for(const std::string& jwks_uri, const JwsHeader& h, milliseconds timeout) {
        Steady::time_point deadline = Steady::now() + timeout;
        std::unique_lock lock(jwks_mu_, deadline);
        if (!lock) return err(fmt::format("JWKS at {}: still being fetched for another sign-in", jwks_uri));
        auto age = Steady::now() - jwks_at_;
        bool stale = !jwks_ || age >= kJwksTtl;
        bool unknown_kid = jwks_ && jwks_->find(h.kid, h.alg) == nullptr && age >= kJwksRefetchGap;
        if (!stale && !unknown_kid) return *jwks_;
        auto left = std::chrono::ceil<milliseconds>(deadline - Steady::now());
        HttpResult r = http_->get(jwks_uri, std::max(left, milliseconds(1)));
        auto keys = r ? Jwks::parse(r->body) : Result<Jwks>(err(describe(r.error())));
        if (!keys) {
            if (jwks_) log_warn("JWKS at {}: {}; using the copy from before", jwks_uri, keys.error().message);
            if (jwks_) return *jwks_;
            return err(fmt::format("JWKS at {}: {}", jwks_uri, keys.error().message));
        }
        jwks_ = *keys;
        jwks_at_ = Steady::now();
        return *jwks_;
    }

private:
    const std::string issuer_;
    std::unique_ptr<HttpClient> http_;
    // Each held across its fetch (they are rare, and one is enough), and
    // waited for only until the caller's deadline: a hung JWKS fetch for one
    // person must not hold up another's discovery past their PAM deadline.
    std::timed_mutex metadata_mu_;
    std::optional<ProviderMetadata> metadata_;
    Steady::time_point metadata_at_{};
    std::timed_mutex jwks_mu_;
    std::optional<Jwks> jwks_;
    Steady::time_point jwks_at_{};
};

// One cache per (issuer, CA bundle) for the life of the process.
Result<std::shared_ptr<ProviderCache>> provider_for(const DeviceFlowSettings& s) {
    static std::mutex mu;
    static std::map<std::string, std::shared_ptr<ProviderCache>> caches;
    std::string key = s.issuer + '\n' + s.ca_file;
    std::lock_guard lock(mu);
    if (auto it = caches.find(key); it != caches.end()) return it->second;
    auto http = HttpClient::create({.ca_file = s.ca_file, .max_connections = 4, .max_response_bytes = kMaxJwksBytes});
    if (!http) return err(fmt::format("device flow: {}", http.error().message));
    auto cache = std::make_shared<ProviderCache>(s.issuer, std::move(*http));
    caches.emplace(key, cache);
    return cache;
}

// --- the device authorization request (RFC 8628 §3.1, §3.2) --------------

// Client authentication: client_secret_post when there is a secret.
std::vector<FormField> client_fields(const DeviceFlowSettings& s, const Secret& secret) {
    std::vector<FormField> f{{"client_id", s.client_id}};
    if (!secret.empty()) f.push_back({"client_secret", secret.reveal()});
    return f;
}

struct Authorization {
    DeviceCode code;
    Secret device_code;
};

seconds seconds_member(const Json& j, const char* name, seconds fallback) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return fallback;
    return seconds(it->get<int64_t>());
}

// What the person will see on their terminal, and open on their phone.
Status check_shown(const DeviceCode& c) {
    if (!printable(c.user_code) || !printable(c.verification_uri) ||
        (!c.verification_uri_complete.empty() && !printable(c.verification_uri_complete))) {
        return err("device authorization answer has a missing or unprintable user_code or verification_uri");
    }
    return check_provider_url(c.verification_uri, "verification_uri");
}

Result<Authorization> parse_authorization(std::string_view body) {
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return err("device authorization answer is not a JSON object");
    Authorization a;
    a.code.user_code = string_member(j, "user_code");
    a.code.verification_uri = string_member(j, "verification_uri");
    a.code.verification_uri_complete = string_member(j, "verification_uri_complete");
    std::string device_code = string_member(j, "device_code");
    seconds expires_in = seconds_member(j, "expires_in", seconds(0));
    a.code.interval = std::clamp(seconds_member(j, "interval", kDefaultInterval), seconds(1), kMaxInterval);
    wipe_strings(j);
    a.device_code = Secret(device_code);
    OPENSSL_cleanse(device_code.data(), device_code.size());
    if (a.device_code.empty() || expires_in <= seconds(0)) {
        return err("device authorization answer lacks device_code or expires_in");
    }
    if (Status st = check_shown(a.code); !st) return st.error();
    a.code.expires_at = Steady::now() + std::min(expires_in, kMaxCodeLifetime);
    return a;
}

Result<Authorization> authorize(HttpClient& http, const ProviderMetadata& m, const DeviceFlowSettings& s,
                                const Secret& secret, Steady::time_point deadline) {
    auto timeout = call_timeout(deadline, s.http_timeout);
    if (!timeout) {
        return err(
            fmt::format("device authorization at {}: {}", m.device_authorization_endpoint, timeout.error().message));
    }
    std::vector<FormField> fields = client_fields(s, secret);
    fields.push_back({"scope", s.scope});
    HttpResult r = http.post_form(m.device_authorization_endpoint, fields, *timeout);
    if (!r) {
        auto oe = oauth_error(r.error());
        return err(fmt::format("device authorization at {}: {}", m.device_authorization_endpoint,
                               oe ? oe->summary() : describe(r.error(), *timeout, s.http_timeout)));
    }
    WipedString body{std::move(r->body)};
    auto a = parse_authorization(body.text);
    if (!a) {
        return err(fmt::format("device authorization at {}: {}", m.device_authorization_endpoint, a.error().message));
    }
    return a;
}

}  // namespace

std::string_view to_string(DeviceState state) {
    switch (state) {
        case DeviceState::Pending: return "pending";
        case DeviceState::Approved: return "approved";
        case DeviceState::Denied: return "denied";
        case DeviceState::Expired: return "expired";
        case DeviceState::Failed: return "failed";
    }
    return "failed";
}

// --- polling (RFC 8628 §3.4, §3.5) ------------------------------------------

struct DeviceFlow::Impl {
    DeviceFlowSettings settings;
    std::string user;
    std::shared_ptr<ProviderCache> provider;
    ProviderMetadata metadata;
    Secret client_secret;
    Secret device_code;
    DeviceCode code;                 // as begin() received it: code() hands it out
    std::chrono::seconds interval;   // code.interval, plus slow_down's additions
    Steady::time_point next_poll{};  // the first poll may go at once: the user says when
    std::optional<DeviceOutcome> final;
    std::string last_problem;  // a transient error, reported if the deadline comes first

    std::mutex mu;
    std::condition_variable cv;
    bool cancelled = false;

    bool is_cancelled();
    bool sleep_until(Steady::time_point t);
    DeviceOutcome run(Steady::time_point deadline);
    std::optional<DeviceOutcome> poll(Steady::time_point deadline);
    milliseconds call_time(Steady::time_point deadline) const;
    std::optional<DeviceOutcome> on_error(const HttpError& e);
    DeviceOutcome on_tokens(std::string_view body, Steady::time_point deadline);
    DeviceOutcome finish(DeviceOutcome o);
};

bool DeviceFlow::Impl::is_cancelled() {
    std::lock_guard lock(mu);
    return cancelled;
}

// False when cancel() interrupted the sleep.
bool DeviceFlow::Impl::sleep_until(Steady::time_point t) {
    std::unique_lock lock(mu);
    cv.wait_until(lock, t, [this] { return cancelled; });
    return !cancelled;
}

DeviceOutcome DeviceFlow::Impl::finish(DeviceOutcome o) {
    if (o.state == DeviceState::Approved) {
        // Only what vigil checked: the claims' other values are the
        // provider's text, and belong in the (JSON-escaped) trail.
        log_info("device flow: {} approved at {}", user, settings.issuer);
    } else {
        log_warn("device flow for {}: {}: {}", user, to_string(o.state), o.why);
    }
    final = o;
    return o;
}

DeviceOutcome DeviceFlow::Impl::run(Steady::time_point deadline) {
    for (;;) {
        if (is_cancelled()) return finish({DeviceState::Failed, "cancelled", {}});
        if (Steady::now() >= code.expires_at) {
            return finish({DeviceState::Expired, "the code expired before anyone approved it", {}});
        }
        Steady::time_point when = std::min(std::max(Steady::now(), next_poll), code.expires_at);
        if (when >= deadline) {
            if (!sleep_until(deadline)) continue;  // cancelled: reported at the top
            std::string why = last_problem.empty() ? "waiting for approval" : last_problem;
            return {DeviceState::Pending, why, {}};
        }
        if (!sleep_until(when)) continue;
        if (Steady::now() >= code.expires_at) continue;
        next_poll = Steady::now() + interval;
        if (auto outcome = poll(deadline)) return finish(std::move(*outcome));
    }
}

// How long a call made while polling may take: what is left before wait()'s
// deadline, but at least kMinPollTimeout (a poll that started must be able
// to finish) and at most http_timeout.
milliseconds DeviceFlow::Impl::call_time(Steady::time_point deadline) const {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Steady::now());
    return std::clamp(left, std::min(kMinPollTimeout, settings.http_timeout), settings.http_timeout);
}

// One token request: a terminal outcome, or nullopt to keep polling. The
// request may run past the caller's deadline by kMinPollTimeout at most.
std::optional<DeviceOutcome> DeviceFlow::Impl::poll(Steady::time_point deadline) {
    std::vector<FormField> fields = client_fields(settings, client_secret);
    fields.push_back({"grant_type", kDeviceCodeGrant});
    fields.push_back({"device_code", device_code.reveal()});
    HttpResult r = provider->http().post_form(metadata.token_endpoint, fields, call_time(deadline));
    if (!r) return on_error(r.error());
    WipedString body{std::move(r->body)};
    return on_tokens(body.text, deadline);
}

std::optional<DeviceOutcome> DeviceFlow::Impl::on_error(const HttpError& e) {
    // No answer, or the provider's own trouble: try again at the next interval.
    if (e.kind != HttpErrorKind::HttpStatus || e.status >= 500 || e.status == 429) {
        last_problem = fmt::format("token endpoint {}: {}", metadata.token_endpoint, describe(e));
        log_warn("device flow for {}: {}; polling again", user, last_problem);
        return std::nullopt;
    }
    last_problem.clear();
    auto oe = oauth_error(e);
    if (oe && oe->error == "authorization_pending") return std::nullopt;
    if (oe && oe->error == "slow_down") {
        interval = std::min(interval + kSlowDownStep, kMaxInterval);
        next_poll = Steady::now() + interval;
        return std::nullopt;
    }
    if (oe && oe->error == "access_denied") {
        std::string why = "denied at the provider";
        if (printable(oe->description)) why += ": " + oe->description;
        return DeviceOutcome{DeviceState::Denied, why, {}};
    }
    if (oe && oe->error == "expired_token") {
        return DeviceOutcome{DeviceState::Expired, "the code expired before anyone approved it", {}};
    }
    std::string why = oe ? oe->summary() : describe(e);
    return DeviceOutcome{DeviceState::Failed, fmt::format("token endpoint {}: {}", metadata.token_endpoint, why), {}};
}

DeviceOutcome DeviceFlow::Impl::on_tokens(std::string_view body, Steady::time_point deadline) {
    Json j = Json::parse(body, nullptr, false);
    std::string id_token = j.is_object() ? string_member(j, "id_token") : "";
    if (!j.is_discarded()) wipe_strings(j);
    WipedString token{std::move(id_token)};
    if (token.text.empty()) {
        return {DeviceState::Failed, "the token answer holds no id_token (is \"openid\" in scope?)", {}};
    }
    auto header = read_jws_header(token.text);
    if (!header) return {DeviceState::Failed, header.error().message, {}};
    auto keys = provider->keys_for(metadata.jwks_uri, *header, call_time(deadline));
    if (!keys) return {DeviceState::Failed, keys.error().message, {}};
    auto claims = verify_id_token(token.text, *keys, settings, user, std::chrono::system_clock::now());
    if (!claims) return {DeviceState::Failed, claims.error().message, {}};
    return {DeviceState::Approved, "", std::move(*claims)};
}

// --- DeviceFlow ---------------------------------------------------------------

Result<std::unique_ptr<DeviceFlow>> DeviceFlow::begin(const DeviceFlowSettings& s, const std::string& local_user,
                                                      Steady::time_point deadline) {
    if (Status st = check_provider_url(s.issuer, "issuer"); !st)
        return err(fmt::format("device flow: {}", st.error().message));
    if (s.client_id.empty()) return err("device flow: client_id is not set");
    auto impl = std::make_unique<Impl>();
    if (!s.client_secret_file.empty()) {
        auto secret = read_secret_file(s.client_secret_file);
        if (!secret) return err(fmt::format("device flow: {}", secret.error().message));
        impl->client_secret = std::move(*secret);
    }
    auto provider = provider_for(s);
    if (!provider) return provider.error();
    auto metadata = (*provider)->metadata(deadline, s.http_timeout);
    if (!metadata) return err(fmt::format("device flow: {}", metadata.error().message));
    auto a = authorize((*provider)->http(), *metadata, s, impl->client_secret, deadline);
    if (!a) return err(fmt::format("device flow: {}", a.error().message));
    impl->settings = s;
    impl->user = local_user;
    impl->provider = std::move(*provider);
    impl->metadata = std::move(*metadata);
    impl->code = std::move(a->code);
    impl->interval = impl->code.interval;
    impl->device_code = std::move(a->device_code);
    log_info("device flow: code issued for {} by {}, valid {} s", local_user, s.issuer,
             std::chrono::duration_cast<seconds>(impl->code.expires_at - Steady::now()).count());
    return std::unique_ptr<DeviceFlow>(new DeviceFlow(std::move(impl)));
}

DeviceFlow::DeviceFlow(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceFlow::~DeviceFlow() = default;

const DeviceCode& DeviceFlow::code() const { return impl_->code; }

DeviceOutcome DeviceFlow::wait(Steady::time_point deadline) {
    if (impl_->final) return *impl_->final;
    return impl_->run(deadline);
}

void DeviceFlow::cancel() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->cancelled = true;
    }
    impl_->cv.notify_all();
}

}  // namespace vigil
