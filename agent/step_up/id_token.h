// Verifies an OpenID Connect ID token (a compact JWS, RFC 7515) that the
// device flow received, and says in one line why one is refused.
//
//   auto claims = verify_id_token(token, jwks, settings.step_up.device, "alice", system_clock::now());
//   if (!claims) deny(claims.error().message);   // "ID token: amr [pwd] shows no second factor ..."
//   else log_info("{} proved MFA ({})", claims->user, join(claims->amr));
//
// What it checks, in order: the shape (three base64url parts, at most
// kMaxIdTokenBytes); the header's alg is RS256 or ES256 (never "none" or an
// HMAC: the provider signs with a private key, and the JWKS holds public
// keys), no "crit" extensions; the signature with the JWKS key named by the
// header's kid; iss equals the configured issuer exactly; aud holds
// client_id (and azp, if present or aud lists several, is client_id); exp
// and iat (and nbf) against now with kIdTokenLeeway; auth_time present and
// no older than max_auth_age; a second factor: acr in accept_acr, or amr
// holding one of accept_amr; and the user_claim (default sub) a string equal
// to the local user name byte for byte: no case folding, no trimming, no
// prefix match.
// The nonce is not checked: the device flow has no authorization request
// that could carry one (RFC 8628 §3.4).
#ifndef VIGIL_STEP_UP_ID_TOKEN_H
#define VIGIL_STEP_UP_ID_TOKEN_H

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "jwks.h"
#include "result.h"
#include "step_up_settings.h"

namespace vigil {

// Longest ID token accepted; real ones are 1-2 KiB.
inline constexpr size_t kMaxIdTokenBytes = 16 * 1024;
// Clock difference tolerated between vigild and the provider.
inline constexpr std::chrono::seconds kIdTokenLeeway{30};

struct IdTokenClaims {
    std::string subject;  // sub: the provider's id for the person
    std::string user;     // the user_claim's value, which equals the local user name
    std::vector<std::string> amr;
    std::string acr;
    std::chrono::system_clock::time_point auth_time;
    std::string issuer;
};

// The protected header's alg and kid, read without verifying anything: the
// device flow uses the kid to decide whether to refetch the JWKS.
struct JwsHeader {
    std::string alg;
    std::string kid;
};
Result<JwsHeader> read_jws_header(std::string_view token);

// True for the claims OpenID Connect does not promise to be stable or unique
// (Core §5.1, §5.7: preferred_username, email, name, ...): a person who may
// change theirs at the provider, or who gets a name someone else gave up,
// would sign in as that local user.
bool is_mutable_claim(std::string_view claim);

// What `vigild --check` and every (re)load say about a user_claim that
// is_mutable_claim(), or "" for a stable one:
//   if (auto w = user_claim_warning(s); !w.empty()) log_warn("{}", w);
std::string user_claim_warning(const DeviceFlowSettings& s);

// The claims of a token that passes every check above, or why it does not.
Result<IdTokenClaims> verify_id_token(std::string_view token, const Jwks& keys, const DeviceFlowSettings& s,
                                      const std::string& expected_user, std::chrono::system_clock::time_point now);

}  // namespace vigil

#endif
