// The host's current posture: the newest value of every signal the
// collectors produce, and who wants to hear when one changes.
//
//   SignalStore store;
//   store.on_change([](const Signal& s) { ... });   // e.g. drop cached decisions
//   store.update({"systemd.unit.auditd.service", "active", "systemd", now});
//   Snapshot snap = store.snapshot();                // what a decision records
#ifndef VIGIL_POSTURE_SIGNAL_STORE_H
#define VIGIL_POSTURE_SIGNAL_STORE_H

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "signal.h"

namespace vigil::posture {

class SignalStore {
public:
    using Listener = std::function<void(const Signal& now, const std::string& before)>;

    // Records s. Listeners hear of it when the value differs from the last
    // one (a first value counts as a change from "").
    void update(Signal s);
    // Marks a signal as unknown: a collector lost its source.
    void forget(const std::string& name);
    Snapshot snapshot() const;
    void on_change(Listener l);

private:
    mutable std::mutex mu_;
    std::map<std::string, Signal> signals_;
    std::vector<Listener> listeners_;
};

}  // namespace vigil::posture

#endif
