// A circuit breaker for one PDP endpoint: after a run of consecutive failures
// the endpoint is skipped for a cool-down instead of costing every login a
// full timeout, then a single probe request decides whether it is back.
//
//   CircuitBreaker breaker({.failure_threshold = 3, .cooldown = 5s});
//   if (breaker.allow()) {
//       bool ok = try_the_endpoint();
//       ok ? breaker.record_success() : breaker.record_failure();
//   }
//
// closed --N consecutive failures--> open --cooldown--> half-open
// half-open: the one probe allowed through closes the circuit on success and
// reopens it (for a fresh cool-down) on failure. Thread-safe.
#ifndef VIGIL_PDP_CIRCUIT_BREAKER_H
#define VIGIL_PDP_CIRCUIT_BREAKER_H

#include <chrono>
#include <functional>
#include <mutex>
#include <string_view>

namespace vigil {

struct CircuitBreakerSettings {
    int failure_threshold = 3;  // consecutive failures that open the circuit; >= 1
    std::chrono::milliseconds cooldown{5000};
};

class CircuitBreaker {
public:
    using Clock = std::chrono::steady_clock;
    // Tests pass a fake clock; production uses Clock::now.
    using NowFn = std::function<Clock::time_point()>;

    enum class State { Closed, Open, HalfOpen };

    explicit CircuitBreaker(CircuitBreakerSettings settings = {}, NowFn now = Clock::now);

    // Whether a request may go to the endpoint now. In half-open state only
    // one caller gets true (the probe); if that probe never reports back, a
    // new probe is allowed after another cool-down rather than never.
    [[nodiscard]] bool allow();

    // Report the outcome of a request that allow() let through. They return
    // true for the two transitions worth a log line: record_failure when it
    // opens a closed circuit, record_success when it closes an open or
    // half-open one (a failed probe reopening it is not news).
    bool record_success();
    bool record_failure();

    State state() const;
    // Time until an open circuit lets a probe through; zero otherwise.
    std::chrono::milliseconds retry_in() const;

private:
    const CircuitBreakerSettings settings_;
    const NowFn now_;
    mutable std::mutex mu_;
    State state_ = State::Closed;
    int failures_ = 0;               // consecutive, while closed
    Clock::time_point opened_at_{};  // open: when; half-open: when the probe left
};

std::string_view to_string(CircuitBreaker::State state);

}  // namespace vigil

#endif
