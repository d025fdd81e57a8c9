#include "circuit_breaker.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using vigil::CircuitBreaker;
using State = vigil::CircuitBreaker::State;

namespace {

// A clock the test moves by hand.
struct FakeClock {
    CircuitBreaker::Clock::time_point now{};  // the epoch: far from any cool-down
    CircuitBreaker::NowFn fn() {
        return [this] { return now; };
    }
};

}  // namespace

TEST_CASE("circuit breaker stays closed until N consecutive failures") {
    FakeClock clock;
    CircuitBreaker b({.failure_threshold = 3, .cooldown = 5s}, clock.fn());
    CHECK(b.allow());
    CHECK_FALSE(b.record_failure());
    CHECK_FALSE(b.record_failure());
    CHECK(b.state() == State::Closed);
    CHECK(b.allow());
    CHECK(b.record_failure());  // the third opens it, and says so
    CHECK(b.state() == State::Open);
    CHECK_FALSE(b.allow());
    CHECK(b.retry_in() == 5s);
}

TEST_CASE("circuit breaker counts only consecutive failures") {
    FakeClock clock;
    CircuitBreaker b({.failure_threshold = 3, .cooldown = 5s}, clock.fn());
    (void)b.record_failure();
    (void)b.record_failure();
    CHECK_FALSE(b.record_success());  // already closed: nothing to report
    (void)b.record_failure();
    (void)b.record_failure();
    CHECK(b.state() == State::Closed);
}

TEST_CASE("circuit breaker lets one probe through after the cool-down") {
    FakeClock clock;
    CircuitBreaker b({.failure_threshold = 1, .cooldown = 5s}, clock.fn());
    (void)b.record_failure();
    clock.now += 4999ms;
    CHECK_FALSE(b.allow());
    CHECK(b.retry_in() == 1ms);
    clock.now += 1ms;
    CHECK(b.allow());  // the probe
    CHECK(b.state() == State::HalfOpen);
    CHECK_FALSE(b.allow());  // everyone else waits for its outcome
    CHECK_FALSE(b.allow());

    SECTION("probe succeeds: closed") {
        CHECK(b.record_success());
        CHECK(b.state() == State::Closed);
        CHECK(b.allow());
        CHECK(b.allow());
    }
    SECTION("probe fails: open again for a fresh cool-down") {
        CHECK_FALSE(b.record_failure());  // reopening is not news
        CHECK(b.state() == State::Open);
        clock.now += 4s;
        CHECK_FALSE(b.allow());
        clock.now += 1s;
        CHECK(b.allow());
    }
    SECTION("probe never reports: another probe after another cool-down") {
        clock.now += 4s;
        CHECK_FALSE(b.allow());
        clock.now += 1s;
        CHECK(b.allow());
        CHECK(b.state() == State::HalfOpen);
    }
}

TEST_CASE("circuit breaker treats a threshold below 1 as 1") {
    FakeClock clock;
    CircuitBreaker b({.failure_threshold = 0, .cooldown = 5s}, clock.fn());
    CHECK(b.record_failure());
    CHECK(b.state() == State::Open);
}

TEST_CASE("circuit breaker names its states") {
    CHECK(vigil::to_string(State::Closed) == "closed");
    CHECK(vigil::to_string(State::Open) == "open");
    CHECK(vigil::to_string(State::HalfOpen) == "half-open");
}

TEST_CASE("circuit breaker grants a single probe among racing threads") {
    std::atomic<long> ticks{0};
    CircuitBreaker b({.failure_threshold = 1, .cooldown = 1s},
                     [&ticks] { return CircuitBreaker::Clock::time_point(std::chrono::seconds(ticks.load())); });
    (void)b.record_failure();
    ticks = 1;
    std::atomic<int> probes{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            for (int j = 0; j < 100; ++j) {
                if (b.allow()) ++probes;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(probes == 1);
}
