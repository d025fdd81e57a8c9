#include "circuit_breaker.h"

#include <algorithm>
#include <utility>

namespace vigil {

CircuitBreaker::CircuitBreaker(CircuitBreakerSettings settings, NowFn now)
    : settings_(settings), now_(std::move(now)) {}

bool CircuitBreaker::allow() {
    std::lock_guard lock(mu_);
    if (state_ == State::Closed) return true;
    // Open, or half-open with a probe out: wait out the cool-down since the
    // circuit opened or since the probe left, then let (another) probe go.
    Clock::time_point now = now_();
    if (now - opened_at_ < settings_.cooldown) return false;
    state_ = State::HalfOpen;
    opened_at_ = now;
    return true;
}

bool CircuitBreaker::record_success() {
    std::lock_guard lock(mu_);
    failures_ = 0;
    return std::exchange(state_, State::Closed) != State::Closed;
}

bool CircuitBreaker::record_failure() {
    std::lock_guard lock(mu_);
    if (state_ == State::Closed && ++failures_ < std::max(settings_.failure_threshold, 1)) {
        return false;
    }
    // Threshold reached, or the half-open probe failed. A failure reported
    // while already open (a request allowed before it opened) restarts the
    // cool-down too: the endpoint is still failing.
    bool changed = state_ == State::Closed;
    state_ = State::Open;
    opened_at_ = now_();
    failures_ = 0;
    return changed;
}

CircuitBreaker::State CircuitBreaker::state() const {
    std::lock_guard lock(mu_);
    return state_;
}

std::chrono::milliseconds CircuitBreaker::retry_in() const {
    std::lock_guard lock(mu_);
    if (state_ == State::Closed) return std::chrono::milliseconds(0);
    auto left = settings_.cooldown - (now_() - opened_at_);
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(left), std::chrono::milliseconds(0));
}

std::string_view to_string(CircuitBreaker::State state) {
    switch (state) {
        case CircuitBreaker::State::Closed: return "closed";
        case CircuitBreaker::State::Open: return "open";
        case CircuitBreaker::State::HalfOpen: return "half-open";
    }
    return "closed";
}

}  // namespace vigil
