#include "posture_changes.h"

namespace vigil {

std::optional<std::vector<std::string>> PostureChanges::observe(PostureView now_view, Clock::time_point now) {
    if (now_view == baseline_) {
        differs_since_.reset();  // it flapped back: nothing happened
        return std::nullopt;
    }
    if (!differs_since_) differs_since_ = now;
    if (now - *differs_since_ < settle_) return std::nullopt;
    std::vector<std::string> what = view_changes(baseline_, now_view);
    baseline_ = std::move(now_view);
    differs_since_.reset();
    return what;
}

void PostureChanges::rebase(PostureView view, std::chrono::seconds settle) {
    baseline_ = std::move(view);
    settle_ = settle;
    differs_since_.reset();
}

std::optional<PostureChanges::Clock::time_point> PostureChanges::due_at() const {
    if (!differs_since_) return std::nullopt;
    return *differs_since_ + settle_;
}

}  // namespace vigil
