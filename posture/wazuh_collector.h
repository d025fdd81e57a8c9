// Posture from the Wazuh agent: its state file (see wazuh_state.h), read on
// an interval.
//
//   WazuhSettings s;                       // defaults fit a standard install
//   WazuhCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Signals: wazuh.status ("connected", "disconnected", "pending"),
// wazuh.last_keepalive, wazuh.keepalive_age (seconds).
//
// wazuh-agentd rewrites the file every few seconds, and nothing removes it
// when the agent dies: the last status='connected' would outlive the agent.
// So a file not rewritten within stale_after counts as a failure and every
// signal goes missing. Set stale_after to 0 to turn that off (an agent with
// agent.state_interval raised past it, say).
//
// The file is read only when root or owner owns it and every directory
// above it, and nobody else can write them (trusted_path.h); otherwise
// every signal goes missing and the reason is logged once.
#ifndef VIGIL_POSTURE_WAZUH_COLLECTOR_H
#define VIGIL_POSTURE_WAZUH_COLLECTOR_H

#include <chrono>
#include <string>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"

namespace vigil::posture {

struct WazuhSettings {
    std::string state_file = "/var/ossec/var/run/wazuh-agentd.state";
    std::chrono::milliseconds interval{10000};
    std::chrono::seconds max_age{0};        // its signals' Signal::max_age; 0 = [posture] max_age
    std::chrono::seconds stale_after{300};  // 0: never stale
    // Besides root, who may own the state file and its directories:
    // wazuh-agentd runs as wazuh and writes the file into
    // /var/ossec/var/run, which the package makes root:wazuh 0770.
    std::string owner = "wazuh";
};

// Ok when state_file is absolute, the interval positive and owner a user
// name or uid.
Status validate(const WazuhSettings& s);

class WazuhCollector : public Collector {
public:
    WazuhCollector(WazuhSettings settings, SignalStore& store);
    ~WazuhCollector() override;

    void start() override;
    void stop() override;
    // One round: read the state file, publish or forget. Tests call it directly.
    void collect_once();

private:
    WazuhSettings s_;
    SignalGroup group_;
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
