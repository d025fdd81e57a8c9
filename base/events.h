// The events vigild reports to journald with a stable MESSAGE_ID, so an
// admin (or a SIEM) can find them by id instead of by wording:
//
//   journalctl MESSAGE_ID=4aa288b906c54cbb96782124c02645ed     # PDP unreachable
//   journalctl -x -u vigild                                     # with explanations
//
// Every id here has an entry in conf/catalog/vigil.catalog (a unit test
// checks both ways). Ids never change once released; a new event gets a
// new id (python3 -c 'import uuid; print(uuid.uuid4().hex)').
#ifndef VIGIL_BASE_EVENTS_H
#define VIGIL_BASE_EVENTS_H

#include <span>

namespace vigil {

enum class Event {
    Decision,  // one per decision (journal.cc), with VIGIL_* fields
    AgentStarted,
    AgentStopping,
    ReloadOk,
    ReloadRefused,
    PdpUnreachable,  // a PDP call failed after answering (or at the first call)
    PdpRecovered,
    PdpCircuitOpen,
    PdpCircuitClosed,
    SignalStale,
    SessionEndedLimit,
    SessionEndedRevoked,
    SessionEndedRedecision,
    SessionEndedGrant,
    SessionEndedIdle,
    GrantGiven,
    GrantExpired,
    AuditWriteFailed,
    BreakGlassUsed,  // a use the module spooled, taken into the trail
};

struct EventInfo {
    Event event;
    const char* message_id;  // 32 lowercase hex digits
    const char* name;        // VIGIL_EVENT=, for humans and grep
};

std::span<const EventInfo> all_events();
const EventInfo& event_info(Event e);

}  // namespace vigil

#endif
