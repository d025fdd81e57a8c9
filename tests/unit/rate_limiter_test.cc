#include "rate_limiter.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using vigil::RateLimiter;

namespace {
const RateLimiter::Clock::time_point t0{};
}

TEST_CASE("rate limiter admits a burst at once, then one request per interval") {
    RateLimiter limit(5, 15s);
    for (int i = 0; i < 5; ++i) CHECK(limit.admit(1001, t0).admitted);
    auto refused = limit.admit(1001, t0);
    CHECK_FALSE(refused.admitted);
    CHECK(refused.retry_after == 15s);
    CHECK_FALSE(limit.admit(1001, t0 + 14s).admitted);
    CHECK(limit.admit(1001, t0 + 15s).admitted);
    CHECK_FALSE(limit.admit(1001, t0 + 16s).admitted);
    CHECK(limit.admit(1001, t0 + 30s).admitted);
}

TEST_CASE("rate limiter: refused requests do not push the next admission further out") {
    RateLimiter limit(2, 10s);
    CHECK(limit.admit(7, t0).admitted);
    CHECK(limit.admit(7, t0).admitted);
    for (int i = 0; i < 10000; ++i) REQUIRE_FALSE(limit.admit(7, t0 + 1s).admitted);
    CHECK(limit.admit(7, t0 + 10s).admitted);
}

TEST_CASE("rate limiter keeps one bucket per key") {
    RateLimiter limit(1, 60s);
    CHECK(limit.admit(1001, t0).admitted);
    CHECK_FALSE(limit.admit(1001, t0).admitted);
    CHECK(limit.admit(1002, t0).admitted);
}

TEST_CASE("rate limiter refills to the burst, no further, after a quiet spell") {
    RateLimiter limit(3, 10s);
    CHECK(limit.admit(5, t0).admitted);
    // An hour later: three at once again, not 360.
    for (int i = 0; i < 3; ++i) CHECK(limit.admit(5, t0 + 1h).admitted);
    CHECK_FALSE(limit.admit(5, t0 + 1h).admitted);
}

TEST_CASE("rate limiter forgets keys whose bucket is full again, and refuses new keys past its cap") {
    RateLimiter limit(1, 1s);
    for (uint32_t uid = 0; uid < 1024; ++uid) limit.admit(uid, t0);
    CHECK(limit.keys() == 1024);
    // Later, every earlier bucket is full: the table is swept when a new key comes.
    CHECK(limit.admit(99999, t0 + 10s).admitted);
    CHECK(limit.keys() == 1);
    for (uint32_t uid = 0; uid < 70000; ++uid) limit.admit(uid, t0 + 20s);
    CHECK(limit.keys() == 65536);
    CHECK_FALSE(limit.admit(4000000, t0 + 20s).admitted);
}
