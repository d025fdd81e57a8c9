#include "events.h"

namespace vigil {
namespace {

// Released ids: never change one.
constexpr EventInfo kEvents[] = {
    {Event::Decision, "5d1a6c0e7b2f4a9e8c3d2b1a0f9e8d7c", "decision"},
    {Event::AgentStarted, "7b6cf3cbde8841448b3ee8d97ec1a76d", "agent_started"},
    {Event::AgentStopping, "b79abe0616574cfd98e71f40ebf7f892", "agent_stopping"},
    {Event::ReloadOk, "541dca6255174f3687845664f3a94b4e", "reload_ok"},
    {Event::ReloadRefused, "44c457fdf2da40b9b578607607f32387", "reload_refused"},
    {Event::PdpUnreachable, "4aa288b906c54cbb96782124c02645ed", "pdp_unreachable"},
    {Event::PdpRecovered, "86b45842d50447ac8c05e8c241ae89d7", "pdp_recovered"},
    {Event::PdpCircuitOpen, "5db0410a5af04637b09b896e2cc3b907", "pdp_circuit_open"},
    {Event::PdpCircuitClosed, "10d7de49f74f4e5d8e4cfd3861b7bd42", "pdp_circuit_closed"},
    {Event::SignalStale, "824ee2bb63824ac88f47dd242f0d1e51", "signal_stale"},
    {Event::SessionEndedLimit, "75dc09acf4314b71a155967bf0349e97", "session_ended_limit"},
    {Event::SessionEndedRevoked, "12d0530ff7d440488ee33279d15d6992", "session_ended_revoked"},
    {Event::SessionEndedRedecision, "b72d465db4f742e4ae71ef256a6d6dfe", "session_ended_redecision"},
    {Event::SessionEndedGrant, "f95af9edae6a4370a560a5ed4405257d", "session_ended_grant"},
    {Event::SessionEndedIdle, "2f80ebf8d50e41ca8e04263c37a1f578", "session_ended_idle"},
    {Event::GrantGiven, "55f74cc65bd645ee80e44a754a6802c6", "grant_given"},
    {Event::GrantExpired, "c54ec36aa57c467499f89010d0db5702", "grant_expired"},
    {Event::AuditWriteFailed, "784ef5282073424e98dbbf4228cf77b2", "audit_write_failed"},
    {Event::BreakGlassUsed, "35fa7631163f45fba12f2262ea865bd1", "break_glass_used"},
};

}  // namespace

std::span<const EventInfo> all_events() { return kEvents; }

const EventInfo& event_info(Event e) {
    for (const EventInfo& i : kEvents) {
        if (i.event == e) return i;
    }
    return kEvents[0];  // unreachable while the table lists every Event (tested)
}

}  // namespace vigil
