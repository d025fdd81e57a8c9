// Deciding with a remote PDP, through the engine, against the loopback test
// HTTP server (http_client_test.cc) standing in for a PDP whose status and
// body each case sets: which answers come back from the caches and the
// fallback, and which answers are answers (a 4xx, OPA's undefined result)
// rather than outages. tests/e2e/pdp.sh does the same against real Cerbos.
#include "remote_decision.h"

#include <catch2/catch.hpp>

#include "engine.h"
#include "engine_testing.h"
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
    return vigil::testing::engine_on("[pdp]\nurls = [" + list + "]\ntimeout = \"2s\"\n" + pdp + "\n" + rules);
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

// ------------------------------------------------------------------------
// Every fallback against every PDP result, with the PDP injected
// (RemotePdp::ask): no HTTP, just the decision that each pair leads to.

namespace {

enum class Earlier { None, Allow };  // the PDP's last answer to the same question, for "cached"

vigil::PdpResult pdp_result(vigil::PdpStatus status, bool allow = false, bool step_up = false) {
    vigil::PdpResult r;
    r.status = status;
    r.allow = allow;
    if (step_up) r.obligations.step_up = vigil::StepUp{"totp", ""};
    if (status != vigil::PdpStatus::Answered) r.error = "test", r.error_kind = "timeout";
    return r;
}

struct Row {
    const char* what;
    std::string fallback;  // [pdp] fallback
    bool allow_rule;       // a local allow rule matched (without a fallback of its own)
    Earlier earlier;
    vigil::PdpResult result;
    Outcome outcome;
    std::string path;
};

}  // namespace

TEST_CASE("every fallback against every PDP result (injected PDP)") {
    using vigil::PdpStatus;
    const auto allow = pdp_result(PdpStatus::Answered, true), deny = pdp_result(PdpStatus::Answered, false),
               step_up = pdp_result(PdpStatus::Answered, true, true), refused = pdp_result(PdpStatus::Refused),
               declined = pdp_result(PdpStatus::Declined), down = pdp_result(PdpStatus::Failed);
    std::vector<Row> rows;
    for (std::string fb : {"deny", "local", "cached"}) {
        for (bool rule : {true, false}) {
            for (Earlier earlier : {Earlier::None, Earlier::Allow}) {
                // An answer is the answer, whatever the fallback, the rules or the cache say.
                rows.push_back({"answered allow", fb, rule, earlier, allow, Outcome::Allow, "pdp"});
                rows.push_back({"answered deny", fb, rule, earlier, deny, Outcome::Deny, "pdp"});
                rows.push_back({"answered step-up", fb, rule, earlier, step_up, Outcome::StepUp, "pdp"});
                rows.push_back({"refused (obligation)", fb, rule, earlier, refused, Outcome::Deny, "pdp"});
                rows.push_back({"declined (4xx)", fb, rule, earlier, declined, Outcome::Deny, "pdp"});
                // Only an outage falls back.
                Outcome when_down = Outcome::Deny;
                if (fb == "local" && rule) when_down = Outcome::Allow;
                if (fb == "cached" && earlier == Earlier::Allow) when_down = Outcome::Allow;
                rows.push_back({"down", fb, rule, earlier, down, when_down, "fallback:" + fb});
            }
        }
    }
    for (const Row& row : rows) {
        CAPTURE(row.what, row.fallback, row.allow_rule, row.earlier == Earlier::Allow);
        auto c = vigil::parse_config("[pdp]\nurls = [\"https://pdp.invalid\"]\nfallback = \"" + row.fallback +
                                         "\"\ncache_max_age = \"1h\"\n" + kLocalFallbackRule,
                                     "test.toml");
        REQUIRE(c);
        vigil::Config config = std::move(*c);
        config.rules[0].fallback.reset();  // the [pdp] fallback decides
        vigil::PdpCache allow_cache, last_answers;
        vigil::PdpResult answer;
        vigil::RemotePdp remote{
            config, [&](const vigil::PdpQuery&, const std::string&, const std::string&, auto) { return answer; },
            allow_cache, last_answers};
        vigil::RuleMatch m{nullptr, row.allow_rule ? &config.rules[0] : nullptr};
        auto record = [] {
            vigil::DecisionRecord r;
            r.request_id = "test";
            r.at = std::chrono::system_clock::now();
            r.request = sudo({"/usr/bin/id"});
            r.identity = vigil::Identity{0, 0, {"root"}, "root"};
            return r;
        };
        if (row.earlier == Earlier::Allow) {
            answer = allow;
            auto r0 = record();
            REQUIRE(vigil::decide_remotely(r0, m, remote).outcome == Outcome::Allow);
        }
        answer = row.result;
        auto r = record();
        vigil::Decision d = vigil::decide_remotely(r, m, remote);
        CHECK(d.outcome == row.outcome);
        CHECK(r.path == row.path);
        if (d.outcome == Outcome::Deny) CHECK_FALSE(d.reason_user.empty());
    }
}
