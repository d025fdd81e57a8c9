#include "requirement.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using vigil::posture::check_requirement;
using vigil::posture::parse_requirement;
using vigil::posture::Signal;

namespace {

const auto kNow = std::chrono::system_clock::now();

vigil::posture::Requirement req(const std::string& text) {
    std::string why;
    auto r = parse_requirement(text, why);
    REQUIRE(r);
    return *r;
}

vigil::posture::Snapshot snap(std::string name, std::string value, std::chrono::seconds age = 1s) {
    return {Signal{std::move(name), std::move(value), "test", kNow - age}};
}

}  // namespace

TEST_CASE("requirement parses signal, operator and value") {
    auto r = req("systemd.unit.fake-edr.service == active");
    CHECK(r.signal == "systemd.unit.fake-edr.service");
    CHECK(r.op == vigil::posture::Op::Eq);
    CHECK(r.value == "active");
    CHECK(req("falcon.zta.overall>=70").op == vigil::posture::Op::Ge);
}

TEST_CASE("requirement rejects text that is not SIGNAL OP VALUE") {
    std::string why;
    for (const char* bad : {"", "active", "== active", "x ==", "two words == x", "x ~ y"}) {
        INFO(bad);
        CHECK_FALSE(parse_requirement(bad, why));
        CHECK_THAT(why, Catch::Contains("SIGNAL OP VALUE"));
    }
}

TEST_CASE("requirement holds for a fresh signal with the right value") {
    CHECK(check_requirement(req("u == active"), snap("u", "active"), kNow, 60s).empty());
    CHECK(check_requirement(req("u != failed"), snap("u", "active"), kNow, 60s).empty());
}

TEST_CASE("requirement names the signal when its value is wrong") {
    auto why = check_requirement(req("systemd.unit.fake-edr.service == active"),
                                 snap("systemd.unit.fake-edr.service", "inactive"), kNow, 60s);
    CHECK(why == "posture signal systemd.unit.fake-edr.service is inactive, needs == active");
}

TEST_CASE("requirement fails on a missing or stale signal") {
    CHECK(check_requirement(req("u == active"), {}, kNow, 60s) == "posture signal u is missing");
    CHECK(check_requirement(req("u == active"), snap("u", "active", 120s), kNow, 60s) ==
          "posture signal u is stale (older than 60s)");
}

TEST_CASE("requirement uses the signal's own max_age, and a within bound tightens it") {
    auto s = snap("u", "active", 90s);
    CHECK_FALSE(check_requirement(req("u == active"), s, kNow, 60s).empty());
    s[0].max_age = 120s;  // its collector vouches for two minutes
    CHECK(check_requirement(req("u == active"), s, kNow, 60s).empty());
    auto r = req("u == active");
    r.within = 30s;
    CHECK(check_requirement(r, s, kNow, 60s) == "posture signal u is stale (older than 30s)");
    s = snap("u", "active", 10s);
    CHECK(check_requirement(r, s, kNow, 60s).empty());
}

TEST_CASE("requirement compares numbers as numbers and refuses to order words") {
    CHECK(check_requirement(req("score >= 70"), snap("score", "85"), kNow, 60s).empty());
    CHECK_FALSE(check_requirement(req("score >= 70"), snap("score", "9"), kNow, 60s).empty());
    CHECK(check_requirement(req("failed < 1"), snap("failed", "0"), kNow, 60s).empty());
    CHECK_FALSE(check_requirement(req("state >= active"), snap("state", "zzz"), kNow, 60s).empty());
}
