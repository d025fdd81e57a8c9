// Why vigild ended a watched session: the label on
// vigil_sessions_ended_total and the journald event that reports it.
#ifndef VIGIL_SESSIONS_SESSION_END_REASON_H
#define VIGIL_SESSIONS_SESSION_END_REASON_H

#include "events.h"

namespace vigil {

enum class SessionEndReason {
    Limit,         // session_max reached
    Revoked,       // vigilctl revoke
    Redecided,     // a re-decision no longer allows it
    GrantExpired,  // the just-in-time grant it depended on ended (expired, or with its bound session)
    Idle,          // no terminal input for session_idle
};

inline const char* to_string(SessionEndReason r) {
    switch (r) {
        case SessionEndReason::Limit: return "limit";
        case SessionEndReason::Revoked: return "revoked";
        case SessionEndReason::Redecided: return "redecision";
        case SessionEndReason::GrantExpired: return "grant_expired";
        case SessionEndReason::Idle: return "idle";
    }
    return "other";
}

inline Event event_for(SessionEndReason r) {
    switch (r) {
        case SessionEndReason::Limit: return Event::SessionEndedLimit;
        case SessionEndReason::Revoked: return Event::SessionEndedRevoked;
        case SessionEndReason::Redecided: return Event::SessionEndedRedecision;
        case SessionEndReason::GrantExpired: return Event::SessionEndedGrant;
        case SessionEndReason::Idle: return Event::SessionEndedIdle;
    }
    return Event::SessionEndedRevoked;
}

}  // namespace vigil

#endif
