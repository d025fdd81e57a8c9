// [step_up] in vigil.toml: how a person proves a fresh second factor when a
// rule or the PDP answers "step_up". Parsed by config.cc; read by the TOTP
// store, the device flow and the step-up coordinator.
#ifndef VIGIL_CONFIG_STEP_UP_SETTINGS_H
#define VIGIL_CONFIG_STEP_UP_SETTINGS_H

#include <chrono>
#include <string>
#include <vector>

namespace vigil {

// [step_up.totp]: RFC 6238 codes checked against a root-only secret store.
struct TotpSettings {
    std::string store_dir = "/var/lib/vigil/totp";  // one file per user, 0600 root, dir 0700 root
    std::string issuer = "vigil";                   // shown by authenticator apps (otpauth:// issuer)
    unsigned digits = 6;                            // 6..8
    std::chrono::seconds period{30};                // time step
    unsigned skew_steps = 1;                        // codes accepted this many steps before/after now
    unsigned lockout_after = 5;                     // consecutive failures that lock the user out
    std::chrono::seconds lockout_for{900};          // how long a lockout lasts
};

// [step_up.device]: OAuth 2.0 Device Authorization Grant (RFC 8628) against
// the organisation's OpenID provider, proving MFA through the ID token.
struct DeviceFlowSettings {
    std::string issuer;  // https://id.example.com (discovery: issuer + /.well-known/openid-configuration)
    std::string client_id;
    std::string client_secret_file;  // optional: root-only file; empty = public client
    std::string scope = "openid profile";
    // The claim that must equal the local user name, byte for byte. sub is
    // the one claim OpenID Connect promises to be stable and unique at the
    // issuer; preferred_username, email, name and the like can change or
    // repeat, and count only when the admin names them here.
    std::string user_claim = "sub";
    std::vector<std::string> accept_amr = {"mfa", "otp", "hwk", "swk", "fpt", "face"};  // any one shows MFA
    std::vector<std::string> accept_acr;           // if not empty, acr must be one of these (alternative to amr)
    std::chrono::seconds max_auth_age{300};        // auth_time no older than this
    std::string ca_file;                           // optional CA bundle for the provider's TLS
    std::chrono::milliseconds http_timeout{5000};  // each HTTP call; also cut to the PAM module's time left
};

// [step_up.purpose]: the justification prompt.
struct PurposeSettings {
    std::string prompt = "Reason or ticket: ";
    std::string pattern = ".{8,}";               // ECMAScript regex the whole answer must match
    std::string hint = "at least 8 characters";  // shown when the answer does not match
};

struct StepUpSettings {
    // A successful step-up is remembered this long per (user, service, tty,
    // rhost) and forgotten when a posture signal changes. 0 = every request.
    std::chrono::seconds remember{300};
    TotpSettings totp;
    bool totp_configured = false;  // [step_up.totp] present (or any rule asks for totp)
    DeviceFlowSettings device;
    bool device_configured = false;  // [step_up.device] present
    PurposeSettings purpose;
};

}  // namespace vigil

#endif
