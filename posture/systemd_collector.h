// Posture from systemd over sd-bus: the state of named units (the EDR
// sensor, auditd, ...), the manager's SystemState and its failed-unit count.
//
// Unit changes arrive as bus signals (Subscribe + PropertiesChanged), so a
// sensor that stops is seen within milliseconds; everything is also re-read
// every `interval`, which keeps the signals fresh and covers SystemState,
// which emits no change signal. Runs on its own thread; reconnects when the
// bus goes away, and forgets its signals meanwhile (missing, not stale-true).
//
//   SystemdCollector c(settings, store);
//   c.start();   ...   c.stop();
//
// Signals: systemd.unit.<unit> = ActiveState ("active", "inactive",
// "failed", ...), systemd.unit.<unit>.sub_state, systemd.system_state,
// systemd.failed_units, and with ntp = true time.ntp_synchronized.
#ifndef VIGIL_POSTURE_SYSTEMD_COLLECTOR_H
#define VIGIL_POSTURE_SYSTEMD_COLLECTOR_H

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "collector.h"
#include "signal_store.h"

namespace vigil::posture {

struct SystemdSettings {
    std::string bus = "system";  // "system", "user", or a D-Bus address ("unix:path=...")
    std::vector<std::string> units;
    std::chrono::milliseconds interval{10000};
    std::chrono::seconds max_age{0};  // its signals' Signal::max_age; 0 = [posture] max_age
    // Also read timedated's NTPSynchronized (time.ntp_synchronized): on the
    // system bus only; where timedated cannot be reached the signal is missing.
    bool ntp = false;
};

class SystemdCollector : public Collector {
public:
    SystemdCollector(SystemdSettings settings, SignalStore& store);
    ~SystemdCollector() override;
    SystemdCollector(const SystemdCollector&) = delete;
    SystemdCollector& operator=(const SystemdCollector&) = delete;

    void start() override;
    void stop() override;

private:
    void run();

    SystemdSettings settings_;
    SignalStore& store_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace vigil::posture

#endif
