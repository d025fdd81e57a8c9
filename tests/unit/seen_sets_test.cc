#include "seen_sets.h"

#include <catch2/catch.hpp>

using vigil::SeenSets;
using namespace std::chrono_literals;

namespace {

const SeenSets::TimePoint t0{std::chrono::seconds(1'700'000'000)};

}  // namespace

TEST_CASE("seen SETs: a jti is new once per issuer", "[ssf]") {
    SeenSets seen(24h);
    CHECK(seen.first("https://idp/", "a", t0, t0));
    CHECK_FALSE(seen.first("https://idp/", "a", t0, t0 + 1s));
    CHECK(seen.first("https://other/", "a", t0, t0 + 1s));  // jti is unique per issuer only
    CHECK(seen.first("https://idp/", "b", t0, t0 + 1s));
    CHECK(seen.size() == 3);
}

TEST_CASE("seen SETs: remembered until their iat is older than keep", "[ssf]") {
    SeenSets seen(1h);
    CHECK(seen.first("i", "a", t0, t0));
    CHECK_FALSE(seen.first("i", "a", t0, t0 + 59min));
    // verify_set refuses it from here on; the memory may let it go.
    CHECK(seen.first("i", "b", t0 + 2h, t0 + 2h));
    CHECK(seen.size() == 1);
}

TEST_CASE("seen SETs: past max_entries the oldest go first", "[ssf]") {
    SeenSets seen(24h, 2);
    CHECK(seen.first("i", "old", t0, t0));
    CHECK(seen.first("i", "mid", t0 + 1s, t0 + 1s));
    CHECK(seen.first("i", "new", t0 + 2s, t0 + 2s));
    CHECK(seen.size() == 2);
    CHECK_FALSE(seen.first("i", "mid", t0 + 1s, t0 + 3s));
    CHECK_FALSE(seen.first("i", "new", t0 + 2s, t0 + 3s));
}
