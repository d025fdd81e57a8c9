// JWS (RFC 7518, 3.4) carries an ES256 signature as raw r || s, 32 bytes
// each; OpenSSL's EVP_DigestVerify wants it DER-encoded. Used for ID tokens
// (the device flow) and for Falcon's signed data.zta.
#ifndef VIGIL_POSTURE_ES256_DER_H
#define VIGIL_POSTURE_ES256_DER_H

#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

inline constexpr size_t kEs256SignatureBytes = 64;

Result<std::string> es256_to_der(std::string_view raw);

}  // namespace vigil::posture

#endif
