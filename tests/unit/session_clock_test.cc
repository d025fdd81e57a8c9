#include "session_clock.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace std::chrono_literals;

// Steps of the wall clock are shown end to end (e2e-clock, under
// libfaketime); here, that the clock starts on the wall clock and runs at
// its pace.
TEST_CASE("SessionClock starts on the wall clock and advances with real time") {
    vigil::SessionClock clock;
    auto wall = std::chrono::system_clock::now();
    auto t0 = clock.now();
    CHECK(std::chrono::abs(t0 - wall) < 50ms);
    CHECK(std::chrono::abs(clock.wall_offset()) < 50ms);
    std::this_thread::sleep_for(30ms);
    auto t1 = clock.now();
    CHECK(t1 - t0 >= 30ms);
    CHECK(t1 - t0 < 1s);
    CHECK(clock.now() >= t1);  // never goes back
}
