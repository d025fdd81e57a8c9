// Posture from ClamAV's daemon over its local socket: is clamd alive, and
// how old are the signatures it scans with.
//
//   ClamdSettings s;                       // Debian's socket by default
//   ClamdCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Each interval: "zPING\0" on one connection (answer "PONG\0"), then
// "zVERSION\0" on another (clamd closes after each command outside a
// session). Signals: clamd.alive ("true"/"false"), clamd.version,
// clamd.signatures (the daily database version), clamd.signature_age_days.
// A clamd that cannot be reached, is not served by root or peer_user
// (SO_PEERCRED, see unix_exchange.h), or does not answer PONG makes alive
// "false" and the rest missing; a VERSION that fails or cannot be read
// leaves alive "true" and the rest missing.
#ifndef VIGIL_POSTURE_CLAMD_COLLECTOR_H
#define VIGIL_POSTURE_CLAMD_COLLECTOR_H

#include <chrono>
#include <string>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"

namespace vigil::posture {

struct ClamdSettings {
    std::string socket = "/run/clamav/clamd.ctl";  // clamd.conf LocalSocket
    std::chrono::milliseconds timeout{2000};       // for each command
    std::chrono::milliseconds interval{30000};
    std::chrono::seconds max_age{0};  // its signals' Signal::max_age; 0 = [posture] max_age
    // Besides root, who may listen on the socket: Debian's clamav-daemon runs
    // clamd as clamav (clamd.conf User), and clamd listens itself when it is
    // not socket-activated.
    std::string peer_user = "clamav";
};

// Ok when socket is absolute, 0 < timeout <= interval and peer_user a user
// name or uid.
Status validate(const ClamdSettings& s);

class ClamdCollector : public Collector {
public:
    ClamdCollector(ClamdSettings settings, SignalStore& store);
    ~ClamdCollector() override;

    void start() override;
    void stop() override;
    // One round: PING, VERSION, publish or forget. Tests call it directly.
    void collect_once();

private:
    ClamdSettings s_;
    SignalGroup group_;
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
