// A compact JWS (RFC 7515) checked against a provider's JWKS (jwks.h): the
// one place tokens signed by someone else are taken apart and verified. ID
// tokens (id_token.h) and Security Event Tokens use it, each with its own
// rules and the prefix its errors carry.
//
//   JwsRules rules{"SET", kMaxSetBytes, {"RS256"}};
//   auto jws = parse_jws(token, rules);          // shape, header, alg: no key needed yet
//   if (!jws) return jws.error();                // "SET: alg HS256 is not accepted (only RS256)"
//   if (Status s = verify_jws_signature(*jws, keys, rules); !s) return s.error();
//   auto claims = jws_payload(*jws, rules);      // the payload, a JSON object
//
// parse_jws refuses: more than max_bytes; anything but three base64url
// parts; a header that is not a JSON object; alg "none", an HMAC or any alg
// not in the rules (the JWKS holds public keys: an HMAC keyed with one would
// be forgeable by anyone); "crit" extensions (RFC 7515 §4.1.11: a recipient
// must refuse those it does not implement); a kid that is not a string.
// Header keys that name a key (jwk, jku, x5u, x5c) are ignored: keys come
// from the configured JWKS only.
#ifndef VIGIL_STEP_UP_JWS_H
#define VIGIL_STEP_UP_JWS_H

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "jwks.h"
#include "result.h"

namespace vigil {

struct JwsRules {
    std::string_view what;               // "ID token", "SET": every error starts with it
    size_t max_bytes = 0;                // longest token accepted
    std::vector<std::string_view> algs;  // accepted, from "RS256" and "ES256"
};

struct Jws {
    nlohmann::json header;      // the protected header, a JSON object
    std::string alg;            // one of the rules' algs
    std::string kid;            // empty when the header has none
    std::string signing_input;  // "<header>.<payload>" as received
    std::string payload;        // base64url, as received
    std::string signature;      // base64url, as received
};

Result<Jws> parse_jws(std::string_view token, const JwsRules& rules);

// The JWKS key for the header's kid and alg verifies the signature.
Status verify_jws_signature(const Jws& jws, const Jwks& keys, const JwsRules& rules);

// The payload as a JSON object. Call only after verify_jws_signature.
Result<nlohmann::json> jws_payload(const Jws& jws, const JwsRules& rules);

// Untrusted text from a token made safe for a one-line message: printable
// ASCII only, at most 64 characters and "...".
std::string shown_claim(std::string_view text);

}  // namespace vigil

#endif
