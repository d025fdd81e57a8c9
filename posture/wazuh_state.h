// The Wazuh agent's view of its link to the manager, as wazuh-agentd
// rewrites it every few seconds (agent.state_interval, 5 s by default) in
// /var/ossec/var/run/wazuh-agentd.state:
//
//   # State file for wazuh-agentd
//   status='connected'
//   last_keepalive='2024-10-01 08:00:00'
//   last_ack='2024-10-01 08:00:02'
//   msg_count='1234'
//
//   auto r = parse_wazuh_state(text, now);
//   // wazuh.status = "connected", wazuh.last_keepalive = "2024-10-01 08:00:00",
//   // wazuh.keepalive_age = "12" (seconds, read in this host's time zone)
//
// Only key='value' lines matter; comments, blank lines and lines of other
// shapes are skipped, so fields added by later agent versions do no harm.
// An agent that never reached its manager writes last_keepalive='': then
// the two keepalive signals are missing.
#ifndef VIGIL_POSTURE_WAZUH_STATE_H
#define VIGIL_POSTURE_WAZUH_STATE_H

#include <chrono>
#include <string_view>

#include "result.h"
#include "signal_group.h"

namespace vigil::posture {

// An error when there is no status='...' line.
Result<Reading> parse_wazuh_state(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace vigil::posture

#endif
