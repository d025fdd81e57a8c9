// A posture signal: one named fact about the host's security state, with
// where it came from and when it was observed. Collectors produce them; a
// decision records every signal it used, with its age.
#ifndef VIGIL_POSTURE_SIGNAL_H
#define VIGIL_POSTURE_SIGNAL_H

#include <chrono>
#include <string>
#include <vector>

namespace vigil::posture {

struct Signal {
    std::string name;    // e.g. "unit.falcon-sensor.active_state"
    std::string value;   // e.g. "active"
    std::string source;  // e.g. "systemd"
    std::chrono::system_clock::time_point observed_at;
    // How long after observed_at the value may be trusted: the collector's
    // max_age. Zero means the [posture] default.
    std::chrono::seconds max_age{0};
    // An age or a timestamp: its value changes by itself at every look.
    // Reported and recorded like any other, but a change in it is never a
    // posture change (a requirement on it still counts: see posture_view.h).
    bool ticking = false;
};

// What the agent knew about the host at one decision. Empty while no
// collector is configured.
using Snapshot = std::vector<Signal>;

}  // namespace vigil::posture

#endif
