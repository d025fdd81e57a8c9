#include "pdp_protocols.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "pdp_client.h"

// Responses recorded from a real Cerbos 0.55.0 by tests/pdp (see SHAPES.md).
namespace {

nlohmann::json example(const std::string& name) {
    std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/pdp/examples/" + name);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

std::string response_body(const std::string& name) { return example(name)["response"]["body"].dump(); }

vigil::PdpQuery query(const std::string& action, std::vector<std::string> groups = {"ops"}) {
    vigil::PdpQuery q;
    q.subject = {{"type", "user"}, {"id", "vgl-alice"}, {"properties", {{"uid", 2001}, {"groups", groups}}}};
    q.action = {{"name", action}, {"properties", {{"service", action == "ssh" ? "sshd" : action}, {"tty", "ssh"}}}};
    q.resource = {{"type", "host"}, {"id", "vault-01"}, {"properties", {{"labels", {{"sensitivity", "high"}}}}}};
    q.context = {{"time", "2026-06-01T10:00:00Z"}, {"request_id", "r1"}, {"source_ip", "192.0.2.10"}};
    return q;
}

}  // namespace

TEST_CASE("cerbos request carries groups as roles and the context under principal attr") {
    auto call = vigil::cerbos_request(query("ssh"), "r1");
    CHECK(call.path == "/api/check/resources");
    const auto& p = call.body["principal"];
    CHECK(p["roles"] == nlohmann::json({"ops"}));
    CHECK(p["attr"]["context"]["source_ip"] == "192.0.2.10");
    CHECK(p["attr"]["context"]["tty"] == "ssh");
    CHECK(call.body["resources"][0]["resource"]["kind"] == "host");
    CHECK(call.body["resources"][0]["actions"] == nlohmann::json({"ssh"}));
    CHECK(vigil::cerbos_request(query("ssh", {}), "r1").body["principal"]["roles"] == nlohmann::json({"user"}));
}

TEST_CASE("cerbos request names the resource's kind: a command has its own policy") {
    auto q = query("sudo");
    q.resource = {{"type", "command"},
                  {"id", "/usr/bin/systemctl"},
                  {"properties", {{"argv", {"systemctl", "restart", "nginx"}}, {"runas_user", "root"}}}};
    auto call = vigil::cerbos_request(q, "r1");
    const auto& r = call.body["resources"][0];
    CHECK(r["resource"]["kind"] == "command");
    CHECK(r["resource"]["id"] == "/usr/bin/systemctl");
    CHECK(r["resource"]["attr"]["argv"][2] == "nginx");
    CHECK(r["actions"] == nlohmann::json({"sudo"}));
}

TEST_CASE("cerbos allow merges only its action's outputs") {
    auto a = vigil::cerbos_response(response_body("01-native-check-allow-stepup.json"), query("ssh"));
    REQUIRE(a);
    CHECK(a->allow);
    CHECK(a->context["session_max_seconds"] == 3600);
    CHECK(a->context["step_up"]["method"] == "totp");
    CHECK_FALSE(a->context.contains("reason_user"));  // that output was for sudo
}

TEST_CASE("cerbos deny keeps reasons and drops limits and step-ups") {
    auto a = vigil::cerbos_response(response_body("01-native-check-allow-stepup.json"), query("sudo"));
    REQUIRE(a);
    CHECK_FALSE(a->allow);
    CHECK(a->context["reason_user"] == "sudo is not allowed on high-sensitivity hosts");
    CHECK_FALSE(a->context.contains("step_up"));
    CHECK_FALSE(a->context.contains("session_max_seconds"));
}

TEST_CASE("cerbos passes an unknown obligation through for the agent to refuse") {
    auto body = response_body("03-native-check-unknown-obligation.json");
    auto action = example("03-native-check-unknown-obligation.json")["request"]["body"]["resources"][0]["actions"][0];
    auto a = vigil::cerbos_response(body, query(action.get<std::string>()));
    REQUIRE(a);
    CHECK(a->context.contains("launch_missiles"));
}

TEST_CASE("cerbos answers without a result for our action are errors") {
    CHECK_FALSE(vigil::cerbos_response(R"({"results": []})", query("ssh")));
    CHECK_FALSE(vigil::cerbos_response(R"({"results": [{"actions": {"sudo": "EFFECT_ALLOW"}}]})", query("ssh")));
    CHECK_FALSE(vigil::cerbos_response("not json", query("ssh")));
    CHECK_FALSE(
        vigil::cerbos_response(R"({"results": [{"actions": {"ssh": "EFFECT_ALLOW"}, "outputs": 5}]})", query("ssh")));
}

TEST_CASE("authzen request follows the spec, plus Cerbos' keys under its profile") {
    auto plain = vigil::authzen_request(query("ssh"), vigil::AuthzenProfile::Standard, "r1");
    CHECK(plain.path == "/access/v1/evaluation");
    CHECK(plain.body["subject"]["id"] == "vgl-alice");
    CHECK(plain.body["resource"]["type"] == "host");
    CHECK(plain.body["context"]["source_ip"] == "192.0.2.10");
    CHECK_FALSE(plain.body["subject"]["properties"].contains("cerbos.roles"));
    auto cerbos = vigil::authzen_request(query("ssh"), vigil::AuthzenProfile::Cerbos, "r1");
    CHECK(cerbos.body["subject"]["properties"]["cerbos.roles"] == nlohmann::json({"ops"}));
    CHECK(cerbos.body["subject"]["properties"]["context"]["source_ip"] == "192.0.2.10");
    CHECK(cerbos.body["context"]["cerbos.includeMeta"] == true);
}

TEST_CASE("authzen response reads decision and context") {
    auto a = vigil::authzen_response(R"({"decision": false, "context": {"reason_user": "no"}})",
                                     vigil::AuthzenProfile::Standard, query("ssh"));
    REQUIRE(a);
    CHECK_FALSE(a->allow);
    CHECK(a->context["reason_user"] == "no");
    for (const char* bad : {R"({"decision": "yes"})", R"({})", R"({"decision": true, "context": 3})", "[]"}) {
        INFO(bad);
        CHECK_FALSE(vigil::authzen_response(bad, vigil::AuthzenProfile::Standard, query("ssh")));
    }
}

TEST_CASE("authzen with the cerbos profile unwraps the rule outputs") {
    auto a = vigil::authzen_response(response_body("12-authzen-allow-obligations.json"), vigil::AuthzenProfile::Cerbos,
                                     query("ssh"));
    REQUIRE(a);
    CHECK(a->allow);
    CHECK_FALSE(a->context.contains("cerbos.response"));
    CHECK(a->context.contains("session_max_seconds"));
}

TEST_CASE("authzen batch answers must match the request count") {
    using vigil::AuthzenProfile;
    std::vector<vigil::PdpQuery> two = {query("ssh"), query("sudo")};
    auto call = vigil::authzen_batch_request(two, AuthzenProfile::Standard, {"r1", "r2"}, "b1");
    CHECK(call.path == "/access/v1/evaluations");
    REQUIRE(call.body["evaluations"].size() == 2);
    CHECK(call.body["evaluations"][1]["action"]["name"] == "sudo");
    CHECK(call.body["evaluations"][0]["context"]["request_id"] == "r1");
    CHECK_FALSE(call.body.contains("context"));
    auto ok = vigil::authzen_batch_response(
        R"({"evaluations": [{"decision": true, "context": {"session_max_seconds": 60}}, {"decision": false}]})",
        AuthzenProfile::Standard, two);
    REQUIRE(ok);
    REQUIRE((*ok)[0]);
    CHECK((*ok)[0]->allow);
    CHECK((*ok)[0]->context["session_max_seconds"] == 60);
    REQUIRE((*ok)[1]);
    CHECK_FALSE((*ok)[1]->allow);
    CHECK_FALSE(
        vigil::authzen_batch_response(R"({"evaluations": [{"decision": true}]})", AuthzenProfile::Standard, two));
    // One bad evaluation does not spoil the others.
    auto mixed = vigil::authzen_batch_response(R"({"evaluations": [{"decision": "yes"}, {"decision": true}]})",
                                               AuthzenProfile::Standard, two);
    REQUIRE(mixed);
    CHECK_FALSE((*mixed)[0]);
    CHECK((*mixed)[1]);
}

TEST_CASE("authzen batch with the cerbos profile asks for meta once, for every evaluation") {
    using vigil::AuthzenProfile;
    std::vector<vigil::PdpQuery> one = {query("ssh")};
    auto call = vigil::authzen_batch_request(one, AuthzenProfile::Cerbos, {"r1"}, "b1");
    CHECK(call.body["context"]["cerbos.includeMeta"] == true);
    CHECK(call.body["context"]["cerbos.requestId"] == "b1");
    CHECK(call.body["evaluations"][0]["subject"]["properties"].contains("cerbos.roles"));
}

TEST_CASE("opa takes a boolean or an object with allow and obligations") {
    auto call = vigil::opa_request(query("ssh"), "vigil/decision");
    CHECK(call.path == "/v1/data/vigil/decision");
    CHECK(call.body["input"]["subject"]["id"] == "vgl-alice");
    auto b = vigil::opa_response(R"({"result": true})");
    REQUIRE(b);
    CHECK(b->allow);
    auto o = vigil::opa_response(R"({"result": {"allow": true, "session_max_seconds": 600}})");
    REQUIRE(o);
    CHECK(o->allow);
    CHECK(o->context["session_max_seconds"] == 600);
    CHECK_FALSE(o->context.contains("allow"));
    CHECK_FALSE(vigil::opa_response(R"({"result": {"x": 1}})"));  // no allow
}

// OPA's documented answer for a rule that is undefined for the input (or a
// path that names no rule): 200 with no "result", maybe a decision_id.
TEST_CASE("opa's undefined result is a deny that says so, not an error") {
    for (const char* body : {R"({})", R"({"decision_id": "4f1c"})"}) {
        auto a = vigil::opa_response(body);
        INFO(body);
        REQUIRE(a);
        CHECK_FALSE(a->allow);
        CHECK_THAT(a->context["reason_admin"].get<std::string>(), Catch::Contains("undefined"));
    }
    CHECK_FALSE(vigil::opa_response(R"({"result": null})"));  // defined, but not a decision
    CHECK_FALSE(vigil::opa_response(R"([])"));
}

TEST_CASE("a batch never holds one subject twice: Cerbos would merge them") {
    auto as = [](const std::string& user) {
        vigil::PdpQuery q = query("ssh");
        q.subject["id"] = user;
        return q;
    };
    auto rounds = vigil::PdpClient::rounds_by_subject({as("a"), as("b"), as("a"), as("c"), as("a"), as("b")});
    REQUIRE(rounds.size() == 3);
    CHECK(rounds[0] == std::vector<size_t>{0, 1, 3});
    CHECK(rounds[1] == std::vector<size_t>{2, 5});
    CHECK(rounds[2] == std::vector<size_t>{4});
}

TEST_CASE("a batch holds at most 50 evaluations: Cerbos refuses more with a 400") {
    std::vector<vigil::PdpQuery> many;
    for (int i = 0; i < 120; ++i) {
        vigil::PdpQuery q = query("ssh");
        q.subject["id"] = "user" + std::to_string(i);
        many.push_back(q);
    }
    auto rounds = vigil::PdpClient::rounds_by_subject(many);
    REQUIRE(rounds.size() == 3);
    CHECK(rounds[0].size() == 50);
    CHECK(rounds[1].size() == 50);
    CHECK(rounds[2].size() == 20);
    CHECK(rounds[2].front() == 100);
}

// Found by tests/fuzz (fuzz_pdp_authzen): json::value() threw on these, and an
// exception escaped a parser that returns errors as values.
TEST_CASE("a Cerbos answer of the wrong shape is an error, never an exception") {
    CHECK_FALSE(vigil::cerbos_response(R"({"results": [{"actions": {"ssh": "EFFECT_ALLOW"}, "actions": ["ssh"]}]})",
                                       query("ssh")));
    auto odd_meta = vigil::cerbos_response(
        R"({"results": [{"actions": {"ssh": "EFFECT_ALLOW"}, "meta": {"actions": {"ssh": {"matchedPolicy": 7}}}}]})",
        query("ssh"));
    REQUIRE(odd_meta);
    CHECK(odd_meta->policy_version.empty());
    CHECK(vigil::cerbos_response(R"({"results": [{"actions": {"ssh": "EFFECT_ALLOW"}, "meta": []}]})", query("ssh")));
    CHECK_FALSE(vigil::authzen_response(
        R"({"decision": false, "context": {"cerbos.response": {"results": [{"actions": {"ssh": "EFFECT_DENY"}, "actions": [1]}]}}})",
        vigil::AuthzenProfile::Cerbos, query("ssh")));
}
