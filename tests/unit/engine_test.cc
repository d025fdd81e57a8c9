#include "engine.h"

#include <catch2/catch.hpp>

#include "engine_testing.h"
#include "recent_decisions.h"

using vigil::Outcome;
using vigil::Phase;

namespace {

// A dry-run engine (no trail) on config text; root is the user, as NSS
// knows it on every machine.
std::shared_ptr<vigil::Engine> engine_on(const std::string& text) { return vigil::testing::engine_on(text); }

vigil::Request reevaluation(const std::string& user) {
    vigil::Request q;
    q.phase = Phase::Reevaluate;
    q.user = user;
    q.service = "sshd";
    return q;
}

}  // namespace

TEST_CASE("a session's re-decision carries the login's factor: still allowed with it, step-up without", "[sessions]") {
    auto engine = engine_on(R"([step_up.totp]
issuer = "test"

[[rule]]
name = "root with a code"
services = ["sshd"]
users = ["root"]
decision = "allow"
step_up = "totp"
)");
    auto q = reevaluation("root");
    CHECK(engine->decide_all({q}).at(0).decision.outcome == Outcome::StepUp);
    q.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    CHECK(engine->decide_all({q, q}).at(1).decision.outcome == Outcome::Allow);
    q.mfa->method = "device";  // not the factor the rule wants
    CHECK(engine->decide(q).decision.outcome == Outcome::StepUp);
}

TEST_CASE("decide_all answers every request in order, each on its own path", "[sessions]") {
    auto engine = engine_on(R"([[rule]]
name = "root may"
services = ["sshd"]
users = ["root"]
decision = "allow"
)");
    auto records = engine->decide_all({reevaluation("root"), reevaluation("no-such-user-vigil"), reevaluation("root")});
    REQUIRE(records.size() == 3);
    CHECK(records[0].decision.outcome == Outcome::Allow);
    CHECK(records[1].decision.outcome == Outcome::Deny);
    CHECK(records[2].decision.outcome == Outcome::Allow);
    CHECK(records[0].request_id != records[2].request_id);
}

TEST_CASE("a sudo command seen only in part is denied, whatever the rules say") {
    auto engine = engine_on(R"([[rule]]
name = "root may sudo"
services = ["sudo"]
users = ["root"]
decision = "allow"
)");
    vigil::Request q;
    q.phase = Phase::Account;
    q.user = "root";
    q.service = "sudo";
    q.command = {"sudo", "true"};
    CHECK(engine->decide(q).decision.outcome == Outcome::Allow);
    q.argv_truncated = true;
    auto r = engine->decide(q);
    CHECK(r.decision.outcome == Outcome::Deny);
    CHECK_THAT(r.decision.reason_admin, Catch::Contains("argv_truncated"));
    CHECK(vigil::testing::trail_json(r).value("argv_truncated", false));
}

TEST_CASE("a grant request's record names the group, the length asked and the length granted", "[grants]") {
    auto engine = engine_on(R"([[rule]]
name = "root may elevate"
services = ["elevate"]
users = ["root"]
decision = "allow"
session_max = "30m"
)");
    vigil::Request q;
    q.phase = Phase::Grant;
    q.user = "root";
    q.service = "elevate";
    q.purpose = "INC-1 fix the disk";
    q.grant_group = "vigil-sudo";
    q.grant_asked = std::chrono::hours(2);
    q.grant_length = std::chrono::hours(1);  // [grants] max
    auto j = vigil::testing::trail_json(engine->decide(q));
    CHECK(j["event"] == "grant_request");
    CHECK(j["grant"]["group"] == "vigil-sudo");
    CHECK_FALSE(j["grant"].contains("account"));
    CHECK(j["grant"]["asked_seconds"] == 7200);
    CHECK(j["grant"]["granted_seconds"] == 1800);
    CHECK(j["purpose"] == "INC-1 fix the disk");
    q.user = "no-such-user-vigil";
    q.grant_group.clear();
    q.grant_account = "breakglass";
    j = vigil::testing::trail_json(engine->decide(q));
    CHECK(j["outcome"] == "deny");
    CHECK(j["grant"]["account"] == "breakglass");
    CHECK_FALSE(j["grant"].contains("granted_seconds"));
}

TEST_CASE("account lookups for sudo's invoker: through the identity caches, from the cache only without waiting") {
    auto engine = engine_on("");
    CHECK_FALSE(engine->account_lookups(false).name_of(0));  // nothing asked yet
    CHECK_FALSE(engine->account_lookups(false).uid_of("root"));
    CHECK(engine->account_lookups(true).name_of(0) == std::optional<std::string>("root"));
    CHECK(engine->account_lookups(true).uid_of("root") == std::optional<uid_t>(0));
    // /etc/passwd may be younger than a second (a racy stat): then nothing
    // is kept, by design.
    if (engine->account_lookups(false).name_of(0)) {
        CHECK(engine->account_lookups(false).name_of(0) == std::optional<std::string>("root"));
        CHECK(engine->account_lookups(false).uid_of("root") == std::optional<uid_t>(0));
    }
    CHECK_FALSE(engine->account_lookups(true).name_of(4294967294u - 1));
}

TEST_CASE("what may be decided without waiting: an account request, the user already known, no PDP call") {
    const char* rules = R"(
[[rule]]
name = "root in"
users = ["root"]
decision = "allow"
)";
    auto engine = engine_on(rules);
    vigil::Request q;
    q.phase = Phase::Account;
    q.user = "root";
    q.service = "sshd";
    CHECK_FALSE(engine->identity_without_waiting(q));  // not asked yet: NSS, on a worker
    CHECK(engine->decide(q).decision.outcome == Outcome::Allow);
    auto who = engine->identity_without_waiting(q);
    REQUIRE(who);
    REQUIRE(who->identity);
    CHECK(who->identity->uid == 0);
    auto begun = engine->decide_or_pend(q, *who);
    REQUIRE(std::holds_alternative<vigil::DecisionRecord>(begun));
    const auto& r = std::get<vigil::DecisionRecord>(begun);
    CHECK(r.decision.outcome == Outcome::Allow);
    CHECK(r.decision.rule == "root in");

    SECTION("other phases wait for a worker: sessions, step-up") {
        for (Phase p : {Phase::Auth, Phase::OpenSession, Phase::CloseSession, Phase::Reevaluate}) {
            q.phase = p;
            CHECK_FALSE(engine->identity_without_waiting(q));
        }
    }
    SECTION("with a PDP, the request is begun and left for a worker to ask; an allow rule that does not ask is not") {
        auto remote = engine_on(std::string(R"(
[pdp]
protocol = "authzen"
urls = ["https://127.0.0.1:1"]

[[rule]]
name = "root by console"
users = ["root"]
services = ["login"]
decision = "allow"
ask_pdp = false
)") + rules);
        (void)remote->decide(q);  // the PDP cannot be reached: the fallback decides
        auto known = remote->identity_without_waiting(q);
        REQUIRE(known);
        auto pending = remote->decide_or_pend(q, *known);
        REQUIRE(std::holds_alternative<vigil::PendingDecision>(pending));
        vigil::DecisionRecord asked = remote->decide_pending(std::move(std::get<vigil::PendingDecision>(pending)));
        CHECK(asked.path.starts_with("fallback:"));
        CHECK(asked.decision.outcome == Outcome::Deny);

        q.service = "login";
        auto local = remote->decide_or_pend(q, *known);
        REQUIRE(std::holds_alternative<vigil::DecisionRecord>(local));
        CHECK(std::get<vigil::DecisionRecord>(local).path == "local");
        CHECK(std::get<vigil::DecisionRecord>(local).decision.rule == "root by console");
    }
}

TEST_CASE("with [sudo] approval = plugin, sudo's session opens only after a command decision") {
    auto c = vigil::parse_config(R"([sudo]
approval = "plugin"

[[rule]]
name = "root may sudo"
services = ["sudo"]
users = ["root"]
decision = "allow"
)",
                                 "test.toml");
    REQUIRE(c);
    vigil::RecentDecisions recent;
    auto engine =
        vigil::Engine::create(std::make_shared<const vigil::Config>(std::move(*c)), nullptr, &recent, nullptr);
    REQUIRE(engine);
    auto asked = [&](vigil::Phase phase) {
        vigil::Request q;
        q.phase = phase;
        q.user = "root";
        q.service = "sudo";
        q.pid = 4242;
        if (phase == vigil::Phase::Command) {
            q.command = {"id", "-u"};
            q.sudo = vigil::SudoCommand{"/usr/bin/id", "/usr/bin/id", "root", 0, "", 0, "/", 0};
        }
        return (*engine)->decide(q);
    };
    REQUIRE(asked(vigil::Phase::Account).decision.outcome == vigil::Outcome::Allow);
    // Only "may use sudo" was decided: the plugin is not in sudo.conf.
    auto without = asked(vigil::Phase::OpenSession);
    CHECK(without.decision.outcome == vigil::Outcome::Deny);
    CHECK_THAT(without.decision.reason_admin, Catch::Contains("/etc/sudo.conf"));
    REQUIRE(asked(vigil::Phase::Command).decision.outcome == vigil::Outcome::Allow);
    auto with = asked(vigil::Phase::OpenSession);
    CHECK(with.decision.outcome == vigil::Outcome::Allow);
    CHECK_FALSE(with.decision_id.empty());
}

TEST_CASE("with [sudo] approval = pam, sudo's session follows the account decision as before") {
    vigil::RecentDecisions recent;
    auto c = vigil::parse_config(
        "[[rule]]\nname = \"r\"\nservices = [\"sudo\"]\nusers = [\"root\"]\ndecision = \"allow\"\n", "test.toml");
    REQUIRE(c);
    auto engine =
        vigil::Engine::create(std::make_shared<const vigil::Config>(std::move(*c)), nullptr, &recent, nullptr);
    REQUIRE(engine);
    vigil::Request q;
    q.user = "root";
    q.service = "sudo";
    q.pid = 4243;
    REQUIRE((*engine)->decide(q).decision.outcome == vigil::Outcome::Allow);
    q.phase = vigil::Phase::OpenSession;
    CHECK((*engine)->decide(q).decision.outcome == vigil::Outcome::Allow);
}
