#include "grant_refusals.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace std::chrono_literals;
using vigil::GrantRefusal;
using vigil::GrantRefusals;

namespace {

struct Trail {
    std::vector<nlohmann::ordered_json> records;
    GrantRefusals::Sink sink() {
        return [this](nlohmann::ordered_json r) { records.push_back(std::move(r)); };
    }
};

}  // namespace

TEST_CASE("grant refusals: the first is in the trail at once, the rest once an interval as counts", "[grants]") {
    Trail trail;
    auto t0 = GrantRefusals::Clock::now();
    {
        GrantRefusals refusals(trail.sink(), 1h);
        refusals.note(20004, "eve", GrantRefusal::RateLimited, t0);
        REQUIRE(trail.records.size() == 1);
        CHECK(trail.records[0]["event"] == "grant_requests_refused");
        CHECK(trail.records[0]["count"] == 1);
        for (int i = 0; i < 9999; ++i) refusals.note(20004, "eve", GrantRefusal::RateLimited, t0 + 1s);
        refusals.note(20004, "eve", GrantRefusal::NotOffered, t0 + 2s);
        refusals.flush_due(t0 + 30min);
        CHECK(trail.records.size() == 1);  // not an interval yet
        refusals.flush_due(t0 + 1h);
        REQUIRE(trail.records.size() == 2);
        const auto& r = trail.records[1];
        CHECK(r["count"] == 10000);
        CHECK(r["reasons"]["rate_limited"] == 9999);
        CHECK(r["reasons"]["not_offered"] == 1);
        REQUIRE(r["uids"].size() == 1);
        CHECK(r["uids"][0]["uid"] == 20004);
        CHECK(r["uids"][0]["user"] == "eve");
        CHECK(r["uids"][0]["count"] == 10000);
        CHECK_FALSE(r.contains("more_uids"));
        refusals.flush_due(t0 + 3h);
        CHECK(trail.records.size() == 2);  // nothing pending, nothing written
        refusals.note(20004, "eve", GrantRefusal::BadReason, t0 + 3h);
        CHECK(trail.records.size() == 3);  // after a quiet interval: at once again
        refusals.note(20004, "eve", GrantRefusal::BadReason, t0 + 3h + 1s);
    }
    // What was still pending is written when vigild stops.
    REQUIRE(trail.records.size() == 4);
    CHECK(trail.records[3]["count"] == 1);
}

TEST_CASE("grant refusals: one record names the 16 uids refused most and counts the others", "[grants]") {
    Trail trail;
    auto t0 = GrantRefusals::Clock::now();
    GrantRefusals refusals(trail.sink(), 1h);
    refusals.note(1, "first", GrantRefusal::Malformed, t0);
    for (uint32_t uid = 100; uid < 140; ++uid) {
        for (uint32_t n = 0; n <= uid - 100; ++n) refusals.note(uid, "u", GrantRefusal::RateLimited, t0 + 1s);
    }
    refusals.flush_due(t0 + 1h);
    REQUIRE(trail.records.size() == 2);
    const auto& r = trail.records[1];
    REQUIRE(r["uids"].size() == 16);
    CHECK(r["uids"][0]["uid"] == 139);  // the most refused first
    CHECK(r["more_uids"] == 40 - 16);
    CHECK(r["count"] == 40 * 41 / 2);
    CHECK(r.dump().size() < 4096);
}
