#include "recent_decisions.h"

namespace vigil {

void RecentDecisions::remember(pid_t pid, RecentDecision d) {
    if (pid <= 0) return;
    std::lock_guard lock(mu_);
    if (by_pid_.insert_or_assign(pid, std::move(d)).second) order_.push_back(pid);
    while (order_.size() > kCapacity) {
        by_pid_.erase(order_.front());
        order_.pop_front();
    }
}

std::optional<RecentDecision> RecentDecisions::find(pid_t pid, pid_t ppid) {
    std::lock_guard lock(mu_);
    auto now = std::chrono::steady_clock::now();
    for (pid_t p : {pid, ppid}) {
        auto it = by_pid_.find(p);
        if (p > 0 && it != by_pid_.end() && now - it->second.at < kMaxAge) return it->second;
    }
    return std::nullopt;
}

}  // namespace vigil
