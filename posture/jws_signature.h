// A vendor's public key, and whether a compact JWS (RFC 7515: the signed
// JWT in Falcon's data.zta) was signed with it. The key is one the admin
// installed; the token never picks it.
//
//   auto key = JwsPublicKey::from_pem(pem_text);   // "-----BEGIN PUBLIC KEY-----" or a certificate
//   if (!key) return key.error();                  // "not an EC P-256 or RSA key", ...
//   if (auto ok = key->verify(token); !ok) refuse(ok.error().message);
//
// The algorithm follows from the key, never from the token: an EC P-256 key
// verifies ES256 and an RSA key (2048 bits or more) RS256, and a token whose
// header names anything else is refused ("none", HS256 keyed with the
// public key, ...), as is one with "crit" extensions.
#ifndef VIGIL_POSTURE_JWS_SIGNATURE_H
#define VIGIL_POSTURE_JWS_SIGNATURE_H

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

class JwsPublicKey {
public:
    static Result<JwsPublicKey> from_pem(std::string_view pem);

    // "ES256" or "RS256".
    const std::string& alg() const { return alg_; }
    // Ok when token is a compact JWS (blanks around it are fine) signed
    // with this key.
    Status verify(std::string_view token) const;

private:
    JwsPublicKey(std::shared_ptr<EVP_PKEY> key, std::string alg) : key_(std::move(key)), alg_(std::move(alg)) {}

    std::shared_ptr<EVP_PKEY> key_;
    std::string alg_;
};

}  // namespace vigil::posture

#endif
