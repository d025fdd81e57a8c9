// Decides when the posture changed enough to act on: the view (posture_view.h)
// differs from the one last acted on, and has differed for the settle time.
// A signal that flaps back within the settle time re-decides nothing.
//
//   PostureChanges changes(config.posture.settle);
//   changes.rebase(posture_view(config, snap, now));            // at start and after a reload
//   if (auto what = changes.observe(posture_view(...), steady_now)) act(*what);
//   poll(..., changes.due_at());                                 // to look again when the settle time is up
//
// Not thread-safe: the caller serialises (collectors report from their own
// threads).
#ifndef VIGIL_DECIDE_POSTURE_CHANGES_H
#define VIGIL_DECIDE_POSTURE_CHANGES_H

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "posture_view.h"

namespace vigil {

class PostureChanges {
public:
    using Clock = std::chrono::steady_clock;

    explicit PostureChanges(std::chrono::seconds settle) : settle_(settle) {}

    // The view now. Returns what changed (view_changes) when the change is
    // to be acted on now, which makes `now_view` the new baseline; else
    // nothing (no change, or still settling).
    std::optional<std::vector<std::string>> observe(PostureView now_view, Clock::time_point now);
    // Takes view as the baseline without acting (a reload re-decides by itself).
    void rebase(PostureView view, std::chrono::seconds settle);
    // When a settling change is to be looked at again; nothing when none is.
    std::optional<Clock::time_point> due_at() const;

private:
    std::chrono::seconds settle_;
    PostureView baseline_;
    std::optional<Clock::time_point> differs_since_;
};

}  // namespace vigil

#endif
