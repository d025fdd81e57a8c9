#include "rate_limiter.h"

#include <algorithm>

namespace vigil {
namespace {

// At the hard cap a key not yet known is refused: no host has that many
// users asking at once, and the table must not grow without bound.
constexpr size_t kMaxKeys = 65536;

}  // namespace

RateLimiter::RateLimiter(unsigned burst, Clock::duration every)
    : every_(every), tolerance_(every * (std::max(burst, 1u) - 1)) {}

// A request is admitted while the key's arrival time is no further ahead of
// now than the burst allows; each admitted request pushes it on by `every`.
RateLimiter::Admission RateLimiter::admit(uint32_t key, Clock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = due_.find(key);
    if (it == due_.end()) {
        if (due_.size() >= sweep_at_) forget_full(now);
        if (due_.size() >= kMaxKeys) return {false, std::chrono::ceil<std::chrono::seconds>(every_)};
        it = due_.emplace(key, now).first;
    }
    Clock::time_point due = std::max(it->second, now);
    if (due - tolerance_ > now) {
        return {false, std::chrono::ceil<std::chrono::seconds>(due - tolerance_ - now)};
    }
    it->second = due + every_;
    return {true, std::chrono::seconds(0)};
}

size_t RateLimiter::keys() const {
    std::lock_guard lock(mu_);
    return due_.size();
}

// The next sweep waits until the table has doubled, so sweeping costs O(1)
// per key however many keys stay.
void RateLimiter::forget_full(Clock::time_point now) {
    std::erase_if(due_, [&](const auto& kv) { return kv.second <= now; });
    sweep_at_ = std::max(kFirstSweep, 2 * due_.size());
}

}  // namespace vigil
