#include "duration.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using vigil::format_duration;
using vigil::parse_duration;

TEST_CASE("duration reads single and compound units") {
    CHECK(*parse_duration("90s") == 90s);
    CHECK(*parse_duration("30m") == 1800s);
    CHECK(*parse_duration("8h") == 28800s);
    CHECK(*parse_duration("1h30m") == 5400s);
    CHECK(*parse_duration("2d") == 172800s);
}

TEST_CASE("duration rejects empty, unitless, zero, unknown units and overflow") {
    for (const char* bad : {"", "10", "0s", "5x", "h", "1h-", "99999999999999999999s", "367d", "-5m"}) {
        INFO(bad);
        auto r = parse_duration(bad);
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("invalid duration"));
    }
}

TEST_CASE("duration formats to the form it reads back") {
    CHECK(format_duration(28800s) == "8h");
    CHECK(format_duration(5400s) == "1h30m");
    CHECK(format_duration(61s) == "1m1s");
    CHECK(*parse_duration(format_duration(93784s)) == 93784s);
}
