// Deciding with a remote PDP, through the engine, against the loopback test
// HTTP server (http_client_test.cc) standing in for a PDP whose status and
// body each case sets: which answers come back from the caches and the
// fallback, and which answers are answers (a 4xx, OPA's undefined result)
// rather than outages. tests/e2e/pdp.sh does the same against real Cerbos.
#include "remote_decision.h"

#include <catch2/catch.hpp>

#include "engine.h"
#include "http_testing.h"

using vigil::Outcome;
using vigil::testing::requests_to;
using vigil::testing::set_body;
using vigil::testing::set_status;
using vigil::testing::url_of;
using State = vigil::CircuitBreaker::State;

namespace {

constexpr const char* kAllow = R"({"decision":true})";
constexpr const char* kDeny = R"({"decision":false})";

// An engine asking the PDPs at urls, [pdp] settings `pdp`, rules after.
std::shared_ptr<vigil::Engine> engine_asking(const std::vector<std::string>& urls, const std::string& pdp,
                                             const std::string& rules = "") {
    std::string list;
    for (const auto& u : urls) list += (list.empty() ? "\"" : ", \"") + u + "\"";
    std::string text = "[pdp]\nurls = [" + list + "]\ntimeout = \"2s\"\n" + pdp + "\n" + rules;
    auto c = vigil::parse_config(text, "test.toml");
    REQUIRE(c);
    auto e = vigil::Engine::create(std::make_shared<const vigil::Config>(std::move(*c)), nullptr, nullptr, nullptr);
    REQUIRE(e);
    return *e;
}

// root (known to NSS everywhere) runs sudo COMMAND...
vigil::Request sudo(std::vector<std::string> command) {
    vigil::Request q;
    q.user = "root";
    q.service = "sudo";
    q.ruser = "alice";
    q.command = std::move(command);
    return q;
}

// Any local allow rule for root's sudo, falling back locally.
const std::string kLocalFallbackRule = R"(
[[rule]]
name = "root sudo, local fallback"
services = ["sudo"]
users = ["root"]
decision = "allow"
fallback = "local"
)";

}  // namespace

TEST_CASE("fallback = cached: an allow for sudo ls does not answer sudo bash") {
    auto pdp = vigil::testing::start_test_server(200, false);
    auto engine = engine_asking({url_of(*pdp)}, "protocol = \"authzen\"\nfallback = \"cached\"");
    auto ls = engine->decide(sudo({"/usr/bin/ls"}));
    REQUIRE(ls.decision.outcome == Outcome::Allow);
    CHECK(ls.path == "pdp");

    set_status(*pdp, 503);  // the PDP is down from here on
    auto bash = engine->decide(sudo({"/bin/bash"}));
    CHECK(bash.decision.outcome == Outcome::Deny);
    CHECK(bash.path == "fallback:cached");
    CHECK_THAT(bash.decision.reason_admin, Catch::Contains("nothing to fall back on"));

    auto again = engine->decide(sudo({"/usr/bin/ls"}));
    CHECK(again.decision.outcome == Outcome::Allow);
    CHECK(again.path == "fallback:cached");
    CHECK_THAT(again.decision.reason_admin, Catch::Contains("cached answer " + ls.request_id));
}

TEST_CASE("fallback = cached: an answer for one invoking user or source does not answer another") {
    auto pdp = vigil::testing::start_test_server(200, false);
    auto engine = engine_asking({url_of(*pdp)}, "protocol = \"authzen\"\nfallback = \"cached\"");
    auto alice = sudo({"/usr/bin/id"});
    auto from_a = alice;
    from_a.service = "sshd";
    from_a.command.clear();
    from_a.rhost = "192.0.2.10";
    REQUIRE(engine->decide(alice).decision.outcome == Outcome::Allow);
    REQUIRE(engine->decide(from_a).decision.outcome == Outcome::Allow);

    set_status(*pdp, 503);
    auto mallory = alice;
    mallory.ruser = "mallory";
    CHECK(engine->decide(mallory).decision.outcome == Outcome::Deny);
    auto from_b = from_a;
    from_b.rhost = "198.51.100.7";
    CHECK(engine->decide(from_b).decision.outcome == Outcome::Deny);
    CHECK(engine->decide(alice).decision.outcome == Outcome::Allow);
    CHECK(engine->decide(from_a).decision.outcome == Outcome::Allow);
}

TEST_CASE("the positive cache reuses an allow only for the same question") {
    auto pdp = vigil::testing::start_test_server(200, false);
    auto engine = engine_asking({url_of(*pdp)}, R"(protocol = "authzen"
cache_allow_seconds = 600
cache_services = ["sudo"])");
    REQUIRE(engine->decide(sudo({"/usr/bin/ls"})).decision.outcome == Outcome::Allow);
    set_body(*pdp, kDeny);  // the policy changed its mind about everything
    auto bash = engine->decide(sudo({"/bin/bash"}));
    CHECK(bash.decision.outcome == Outcome::Deny);
    CHECK(bash.path == "pdp");
    auto ls = engine->decide(sudo({"/usr/bin/ls"}));
    CHECK(ls.decision.outcome == Outcome::Allow);
    CHECK(ls.path == "cache");
    CHECK(requests_to(*pdp) == 2);
}

TEST_CASE("a 4xx from the PDP is a deny naming the status: no fallback, no failover, the breaker stays closed") {
    auto pdp = vigil::testing::start_test_server(404, false);
    auto spare = vigil::testing::start_test_server(200, false);
    auto engine =
        engine_asking({url_of(*pdp), url_of(*spare)},
                      "protocol = \"authzen\"\nfallback = \"cached\"\nbreaker_failures = 1", kLocalFallbackRule);
    for (int status : {400, 401, 403, 404, 422}) {
        set_status(*pdp, status);
        set_body(*pdp, R"({"code":5,"message":"Not Found"})");
        auto r = engine->decide(sudo({"/usr/bin/ls"}));
        INFO(status);
        CHECK(r.decision.outcome == Outcome::Deny);
        CHECK(r.path == "pdp");
        CHECK_THAT(r.decision.reason_admin, Catch::Contains("HTTP " + std::to_string(status)));
        CHECK_THAT(r.decision.reason_admin, Catch::Contains("Not Found"));
        CHECK_THAT(r.decision.reason_admin, Catch::Contains("no fallback"));
        CHECK(r.decision.reason_user == "access denied: the policy service refused the request");
        CHECK(r.pdp["error_kind"] == "http_status");
        CHECK(engine->pdp()->transport().breaker_state(0) == State::Closed);
    }
    CHECK(requests_to(*spare) == 0);
}

TEST_CASE("a 4xx replaces the PDP's earlier allow for fallback = cached") {
    auto pdp = vigil::testing::start_test_server(200, false);
    auto engine = engine_asking({url_of(*pdp)}, "protocol = \"authzen\"\nfallback = \"cached\"");
    REQUIRE(engine->decide(sudo({"/usr/bin/ls"})).decision.outcome == Outcome::Allow);
    set_status(*pdp, 403);
    REQUIRE(engine->decide(sudo({"/usr/bin/ls"})).decision.outcome == Outcome::Deny);
    set_status(*pdp, 503);
    auto r = engine->decide(sudo({"/usr/bin/ls"}));
    CHECK(r.decision.outcome == Outcome::Deny);
    CHECK(r.path == "fallback:cached");
    CHECK_THAT(r.decision.reason_admin, Catch::Contains("HTTP 403"));
}

TEST_CASE("OPA's undefined result is a deny: no fallback, the breaker stays closed") {
    auto opa = vigil::testing::start_test_server(200, false);
    auto spare = vigil::testing::start_test_server(200, false);
    set_body(*spare, R"({"result": true})");
    auto engine =
        engine_asking({url_of(*opa), url_of(*spare)}, "protocol = \"opa\"\nbreaker_failures = 1", kLocalFallbackRule);
    for (const char* undefined : {"{}", R"({"decision_id": "4f1c"})"}) {
        set_body(*opa, undefined);
        auto r = engine->decide(sudo({"/usr/bin/ls"}));
        INFO(undefined);
        CHECK(r.decision.outcome == Outcome::Deny);
        CHECK(r.path == "pdp");
        CHECK_THAT(r.decision.reason_admin, Catch::Contains("undefined"));
        CHECK(engine->pdp()->transport().breaker_state(0) == State::Closed);
    }
    CHECK(requests_to(*spare) == 0);
    set_body(*opa, R"({"result": {"allow": true}})");
    CHECK(engine->decide(sudo({"/usr/bin/ls"})).decision.outcome == Outcome::Allow);
}

TEST_CASE("5xx, 3xx and malformed answers are outages: the fallback decides and the breaker counts them") {
    for (int status : {500, 503, 302, 200}) {
        auto pdp = vigil::testing::start_test_server(status, false);
        if (status == 200) set_body(*pdp, R"({"decision": "yes"})");
        auto engine = engine_asking({url_of(*pdp)}, "protocol = \"authzen\"\nbreaker_failures = 1", kLocalFallbackRule);
        auto r = engine->decide(sudo({"/usr/bin/ls"}));
        INFO(status);
        CHECK(r.decision.outcome == Outcome::Allow);
        CHECK(r.path == "fallback:local");
        CHECK(engine->pdp()->transport().breaker_state(0) == State::Open);
    }
}
