// What of the host's posture the running policy can see: whether each
// requirement it names holds, and the values a PDP would be sent. Two views
// that are equal decide every request alike, so only a change between views
// is a posture change worth re-deciding sessions, dropping cached PDP
// answers and forgetting step-up proofs for.
//
//   PostureView before = posture_view(config, store.snapshot(), now);
//   ...
//   for (auto& line : view_changes(before, posture_view(config, store.snapshot(), now))) log(line);
//
// A requirement counts by whether it holds, not by the values it read: an
// EDR score moving from 80 to 81 above a "> 70" bar changes nothing. Ages
// and timestamps (Signal::ticking, [posture] ticking) are left out of the
// PDP's values: they change at every look, and the PDP sees their newest
// value whenever it is asked anyway. A requirement on one still counts
// when it flips ("wazuh.keepalive_age < 600" failing is a change).
#ifndef VIGIL_DECIDE_POSTURE_VIEW_H
#define VIGIL_DECIDE_POSTURE_VIEW_H

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "signal.h"

namespace vigil {

struct PostureView {
    std::map<std::string, bool> requirements;        // requirement text -> holds
    std::map<std::string, std::string> pdp_signals;  // with a PDP: every fresh signal that is not ticking
    bool operator==(const PostureView&) const = default;
};

// Does s change at every look: an age or timestamp its collector marks
// (Signal::ticking), or one [posture] ticking names? Such a change is
// reported, never acted on.
bool is_ticking(const posture::Signal& s, const Config& c);

PostureView posture_view(const Config& c, const posture::Snapshot& snap, std::chrono::system_clock::time_point now);

// One line per difference, for the log ("requirement \"X\" now fails",
// "signal Y: \"a\" -> \"b\"").
std::vector<std::string> view_changes(const PostureView& before, const PostureView& after);

}  // namespace vigil

#endif
