// Which posture signals are stale (older than their collector's max_age,
// or [posture] max_age when it has none), and which just became so: each
// signal's going stale is logged once, not at every look.
//
//   StaleSignals watch;
//   for (auto& name : watch.update(store.snapshot(), now, config.posture.max_age)) log(name);
#ifndef VIGIL_POSTURE_STALE_SIGNALS_H
#define VIGIL_POSTURE_STALE_SIGNALS_H

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "signal.h"

namespace vigil {

bool is_stale(const posture::Signal& s, std::chrono::system_clock::time_point now, std::chrono::seconds fallback);
std::vector<std::string> stale_signals(const posture::Snapshot& snapshot, std::chrono::system_clock::time_point now,
                                       std::chrono::seconds fallback);

class StaleSignals {
public:
    // The signals stale now that were not at the last call.
    std::vector<std::string> update(const posture::Snapshot& snapshot, std::chrono::system_clock::time_point now,
                                    std::chrono::seconds fallback);

private:
    std::set<std::string> stale_;
};

}  // namespace vigil

#endif
