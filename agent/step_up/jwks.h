// An OpenID provider's signing keys, from its JWKS document (RFC 7517), as
// OpenSSL public keys that verify ID token signatures (id_token.h).
//
//   Result<Jwks> keys = Jwks::parse(http_body);
//   if (!keys) return keys.error();                   // "JWKS: not JSON", ...
//   const JwksKey* k = keys->find("2024-06", "RS256");  // nullptr: no such key
//
// Only what ID tokens need is kept: RSA keys (RS256, at least 2048 bits) and
// EC P-256 keys (ES256) meant for signatures. Other key types, curves and
// algorithms, encryption keys and malformed entries are skipped, not fatal:
// providers publish keys for other uses side by side with ours.
#ifndef VIGIL_STEP_UP_JWKS_H
#define VIGIL_STEP_UP_JWKS_H

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace vigil {

// Largest JWKS document parse() accepts.
inline constexpr size_t kMaxJwksBytes = 256 * 1024;

struct JwksKey {
    std::string kid;                 // may be empty when the provider publishes one key
    std::string alg;                 // "RS256" or "ES256" (implied by kty/crv when absent)
    std::shared_ptr<EVP_PKEY> pkey;  // public key, shared by copies of the Jwks
};

class Jwks {
public:
    // Fails only when the document is not a JSON object with a "keys" array;
    // a JWKS with no usable key parses to an empty set (find() finds nothing).
    static Result<Jwks> parse(std::string_view json);

    // The key for a JWS header's kid and alg. With an empty kid, the only key
    // for alg, if there is exactly one.
    const JwksKey* find(std::string_view kid, std::string_view alg) const;

    size_t size() const { return keys_.size(); }

private:
    std::vector<JwksKey> keys_;
};

// base64url without padding (RFC 4648 §5, as JOSE uses it). Refuses padding,
// characters outside the alphabet and non-canonical trailing bits, so one
// token has exactly one spelling.
Result<std::string> base64url_decode(std::string_view text);

}  // namespace vigil

#endif
