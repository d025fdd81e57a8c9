#include "seen_sets.h"

namespace vigil {

SeenSets::SeenSets(std::chrono::seconds keep, size_t max_entries) : keep_(keep), max_entries_(max_entries) {}

bool SeenSets::first(const std::string& iss, const std::string& jti, TimePoint issued_at, TimePoint now) {
    forget_older_than(now - keep_);
    Key key{iss, jti};
    if (by_key_.count(key) != 0) return false;
    while (!by_time_.empty() && by_key_.size() >= max_entries_) {
        by_key_.erase(by_time_.begin()->second);
        by_time_.erase(by_time_.begin());
    }
    by_key_.emplace(key, issued_at);
    by_time_.emplace(issued_at, std::move(key));
    return true;
}

void SeenSets::forget_older_than(TimePoint cutoff) {
    while (!by_time_.empty() && by_time_.begin()->first < cutoff) {
        by_key_.erase(by_time_.begin()->second);
        by_time_.erase(by_time_.begin());
    }
}

}  // namespace vigil
