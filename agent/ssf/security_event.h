// A Security Event Token (RFC 8417) as OpenID Shared Signals 1.0 profiles
// it, from a transmitter vigild polls (RFC 8936): checked before anything
// acts on it, and when refused, refused with the code the transmitter is
// told in the next poll's setErrs.
//
//   StreamTrust trust{"https://idp.example.com/", {"vigil:web-1"}};
//   SetCheck c = verify_set(jti, token, jwks, trust, system_clock::now());
//   if (!c.event) set_errs[jti] = {to_string(c.refusal.code), c.refusal.description};
//
// What it checks, in order: the JWS (jws.h: size, shape, an alg of
// trust.algs, never none or HMAC, the signature by the transmitter's JWKS
// key for the header's kid); the header's typ is secevent+jwt (SSF 1.0 §4:
// compared without case, "application/" allowed before it); iss is the
// configured issuer, byte for byte; aud, a string or an array, holds one of
// the stream's audiences; jti is the key the poll answer filed the SET
// under; neither sub nor exp is there (SSF forbids both, so that no ID or
// access token passes for a SET, nor a SET for one); iat is no more than
// kSetClockSkew ahead and no older than trust.max_age; events holds exactly
// one event, a JSON object; the subject is sub_id or, as CAEP allows, the
// event's own "subject": an object naming its format ("subject_type", which
// Google's transmitter sends, is read as format).
//
// Not checked here: whether the event's type is one the stream delivers
// (an unknown type is acknowledged and logged, not refused), and replays
// (seen_sets.h).
#ifndef VIGIL_SSF_SECURITY_EVENT_H
#define VIGIL_SSF_SECURITY_EVENT_H

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jwks.h"

namespace vigil {

// Longest SET accepted; CAEP events are well under 2 KiB.
inline constexpr size_t kMaxSetBytes = 64 * 1024;
// How far a SET's iat may be ahead of vigild's clock.
inline constexpr std::chrono::seconds kSetClockSkew{300};

// What a stream's SETs must carry.
struct StreamTrust {
    std::string issuer;                           // the configured issuer, as discovery and the stream said too
    std::vector<std::string> audience;            // the stream's aud
    std::vector<std::string_view> algs{"RS256"};  // SSF's interop profile: RS256 with keys of 2048 bits or more
    std::chrono::seconds max_age{24 * 60 * 60};   // older SETs are refused: see SeenSets
};

struct SecurityEvent {
    std::string jti;
    std::string issuer;
    std::string txn;  // the cause several SETs share; may be empty
    std::chrono::system_clock::time_point issued_at;
    std::optional<std::chrono::system_clock::time_point> event_time;  // CAEP's event_timestamp
    std::string type;                                                 // the event type's URI
    nlohmann::json event;                                             // its members, a JSON object
    nlohmann::json subject;                                           // sub_id: an object with a string "format"
};

// RFC 8935 §2.4's error codes, which poll delivery's setErrs uses too.
enum class SetError { InvalidRequest, InvalidKey, InvalidIssuer, InvalidAudience };
const char* to_string(SetError e);

struct SetRefusal {
    SetError code = SetError::InvalidRequest;
    std::string description;  // "SET: aud [\"other\"] does not include vigil:web-1"
};

// Either event is set, or refusal says why not.
struct SetCheck {
    std::optional<SecurityEvent> event;
    SetRefusal refusal;
};

SetCheck verify_set(std::string_view jti, std::string_view token, const Jwks& keys, const StreamTrust& trust,
                    std::chrono::system_clock::time_point now);

// CAEP and SSF event types by their URI's last segment when they are one
// of CAEP's ("session-revoked") or SSF's ("verification"), else the URI.
std::string event_name(std::string_view type);

}  // namespace vigil

#endif
