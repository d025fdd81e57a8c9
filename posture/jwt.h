// JSON Web Tokens in compact form (header.payload.signature, each part
// base64url), decoded but NOT verified: what the Falcon ZTA adapter needs to
// read the assessment CrowdStrike writes to data.zta.
//
//   Result<nlohmann::json> claims = decode_jwt_payload(token_text);
//   if (claims) use((*claims)["assessment"]["overall"]);
//
// Why no verification: the token is signed with CrowdStrike's key, which
// this host does not have and cannot fetch; a verifier elsewhere (Okta, a
// ZTNA broker) checks it. vigil trusts the file the way it trusts
// /proc: it is written by a root-owned sensor into a root-owned directory,
// and anyone who can rewrite it can rewrite vigild's config too.
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
