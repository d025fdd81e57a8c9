// JSON Web Tokens in compact form (header.payload.signature, each part
// base64url), decoded but NOT verified: what the Falcon ZTA adapter needs to
// read the assessment CrowdStrike writes to data.zta.
//
//   Result<nlohmann::json> claims = decode_jwt_payload(token_text);
//   if (claims) use((*claims)["assessment"]["overall"]);
//
// Verification is jws_signature.h's job, with a key the admin installs
// ([posture.falcon] public_key); without one, the Falcon collector marks
// what it read falcon.zta.verified = "false". Either way the file itself is
// read only when a trusted account owns it and nobody else can write it or
// its directories (trusted_path.h).
#ifndef VIGIL_POSTURE_JWT_H
#define VIGIL_POSTURE_JWT_H

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

// base64url (RFC 4648 §5), padding optional. An error on any other
// character, on misplaced padding and on an impossible length.
Result<std::string> base64url_decode(std::string_view in);

// The payload (claims) of a compact JWT, which must be a JSON object, as
// must the header. Blanks around the token (a trailing newline) are fine.
Result<nlohmann::json> decode_jwt_payload(std::string_view token);

}  // namespace vigil::posture

#endif
