#include "pdp_cache.h"

namespace vigil {

void PdpCache::remember(const std::string& key, CachedAnswer answer) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
        order_.erase(it->second.pos);
        entries_.erase(it);
    }
    order_.push_back(key);
    entries_.emplace(key, Entry{std::move(answer), std::prev(order_.end())});
    while (entries_.size() > capacity_) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
}

std::optional<CachedAnswer> PdpCache::find(const std::string& key, std::chrono::seconds max_age) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (std::chrono::steady_clock::now() - it->second.answer.at > max_age) return std::nullopt;
    return it->second.answer;
}

void PdpCache::clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
    order_.clear();
}

}  // namespace vigil
