// One step-up login through the OAuth 2.0 Device Authorization Grant
// (RFC 8628) at the organisation's OpenID provider: vigild asks for a code,
// the person opens the provider's page on a phone, signs in there with a
// second factor and approves; vigild then receives an ID token that says who
// signed in and how (id_token.h checks it).
//
//   auto flow = DeviceFlow::begin(config.step_up.device, "alice", module_deadline);
//   if (!flow) return deny(flow.error().message);
//   show((*flow)->code().verification_uri_complete, (*flow)->code().user_code);
//   DeviceOutcome o = (*flow)->wait(steady_clock::now() + 60s);   // after the user presses Enter
//   if (o.state == DeviceState::Approved) allow(o.claims.user);   // else o.why says why not
//
// The provider is found by OpenID discovery (issuer +
// "/.well-known/openid-configuration"); its metadata and JWKS are cached per
// issuer for a while and the JWKS is fetched again once when a token names
// an unknown kid (key rotation). The issuer and every endpoint must be
// https://, except on loopback (127.0.0.1, [::1], localhost), where plain
// http:// is allowed so the tests can run a provider without certificates;
// TLS is verified against ca_file (or the system store) with no way to turn
// it off. The client authenticates with client_secret_post when
// client_secret_file is set, else as a public client. Neither the device
// code, the tokens nor the secret are ever logged.
//
// Every HTTP call takes at most http_timeout, and the calls made while the
// PAM module waits (discovery, the device authorization request) also end
// by the deadline begin() is given: a slow provider costs the person a deny
// with a reason, never a module that gave up waiting for vigild.
#ifndef VIGIL_STEP_UP_DEVICE_FLOW_H
#define VIGIL_STEP_UP_DEVICE_FLOW_H

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "id_token.h"
#include "provider_url.h"
#include "result.h"
#include "step_up_settings.h"

namespace vigil {

// What to show the person (RFC 8628 §3.2).
struct DeviceCode {
    std::string verification_uri;           // the page to open
    std::string verification_uri_complete;  // the same with the code filled in (for a QR code); may be empty
    std::string user_code;                  // what to type there, e.g. "WDJB-MJHT"
    std::chrono::steady_clock::time_point expires_at;
    std::chrono::seconds interval;  // polling interval the provider asked for
};

enum class DeviceState {
    Pending,   // not decided yet (wait() reached its deadline)
    Approved,  // approved, and the ID token passed every check
    Denied,    // the person declined at the provider (access_denied)
    Expired,   // the code expired before anyone approved it
    Failed,    // anything else: provider unreachable, bad answer, token refused, cancelled
};

std::string_view to_string(DeviceState state);  // "pending", "approved", ...

struct DeviceOutcome {
    DeviceState state = DeviceState::Pending;
    std::string why;       // one line for the admin (and safe to show the user); empty when approved
    IdTokenClaims claims;  // Approved only
};

class DeviceFlow {
public:
    // Discovery (cached) and the device authorization request, both done by
    // deadline (the PAM module's, less the time it needs to hear the answer);
    // with no time left, nothing is asked.
    static Result<std::unique_ptr<DeviceFlow>> begin(const DeviceFlowSettings& s, const std::string& local_user,
                                                     std::chrono::steady_clock::time_point deadline);
    ~DeviceFlow();
    DeviceFlow(const DeviceFlow&) = delete;
    DeviceFlow& operator=(const DeviceFlow&) = delete;

    const DeviceCode& code() const;

    // Polls the token endpoint every interval (plus 5 s for each slow_down,
    // RFC 8628 §3.5) until the request is approved, denied or expired, or
    // until deadline, when it returns Pending (call again to keep waiting).
    // Each token request and JWKS fetch ends by deadline, or a moment after.
    // Once a terminal state is reached, later calls return it again. A
    // network error or 5xx while polling is retried at the next interval
    // (reported in why if the deadline comes first). One caller at a time.
    DeviceOutcome wait(std::chrono::steady_clock::time_point deadline);

    // Makes a wait() in another thread return Failed ("cancelled") within
    // moments (at most one HTTP call's time), and every later wait() too.
    void cancel();

private:
    struct Impl;
    explicit DeviceFlow(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vigil

#endif
