// A PDP's policy version counts as new once per version, so a rolling
// deploy answering with two versions re-decides sessions twice, not at
// every answer.
#include "policy_versions.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("policy versions: the first is no change; a new one is, once; alternating ones are not", "[pdp]") {
    vigil::PolicyVersions seen;
    auto t = std::chrono::steady_clock::now();
    CHECK_FALSE(seen.is_new("v1", t));
    CHECK_FALSE(seen.is_new("v1", t + 1s));
    CHECK_FALSE(seen.is_new("", t + 2s));
    CHECK(seen.is_new("v2", t + 3s));
    CHECK_FALSE(seen.is_new("v1", t + 4s));
    CHECK_FALSE(seen.is_new("v2", t + 5s));
    CHECK(seen.is_new("v3", t + 6s));
}

TEST_CASE("policy versions: an old version back after the window counts; the latest never expires", "[pdp]") {
    vigil::PolicyVersions seen;
    auto t = std::chrono::steady_clock::now();
    CHECK_FALSE(seen.is_new("v1", t));
    CHECK(seen.is_new("v2", t + 1s));
    CHECK(seen.is_new("v1", t + 2h));        // v1 left the window: a rollback
    CHECK_FALSE(seen.is_new("v1", t + 5h));  // a quiet host: still the latest
    CHECK(seen.is_new("v2", t + 5h + 1s));
}
