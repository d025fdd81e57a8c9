// A token bucket per key (a uid): `burst` requests at once, then one more
// every `every`. Each key is kept as one time (GCRA, the "theoretical
// arrival time"), and keys whose bucket is full again are forgotten, so the
// table holds only those who asked lately.
//
//   RateLimiter limit(5, std::chrono::seconds(15));
//   RateLimiter::Admission a = limit.admit(uid, std::chrono::steady_clock::now());
//   if (!a.admitted) refuse(fmt::format("try again in {} s", a.retry_after.count()));
#ifndef VIGIL_BASE_RATE_LIMITER_H
#define VIGIL_BASE_RATE_LIMITER_H

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

namespace vigil {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Admission {
        bool admitted = false;
        std::chrono::seconds retry_after{0};  // refused: when the next request would be admitted (rounded up)
    };

    // burst >= 1; every > 0.
    RateLimiter(unsigned burst, Clock::duration every);

    // Takes a token from key's bucket, or says when there will be one.
    // Thread-safe.
    Admission admit(uint32_t key, Clock::time_point now);

    size_t keys() const;  // remembered keys (tests)

private:
    void forget_full(Clock::time_point now);  // mu_ held

    static constexpr size_t kFirstSweep = 1024;

    const Clock::duration every_;
    const Clock::duration tolerance_;  // (burst - 1) * every
    mutable std::mutex mu_;
    std::map<uint32_t, Clock::time_point> due_;  // key -> its theoretical arrival time
    size_t sweep_at_ = kFirstSweep;              // forget_full() when due_ is this big
};

}  // namespace vigil

#endif
