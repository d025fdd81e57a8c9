// The PDP client end to end over loopback HTTP (http_testing.h): what each
// kind of answer becomes (answered, refused, declined, failed), what goes on
// the wire, and an AuthZEN batch answered in order.
#include "pdp_client.h"

#include <catch2/catch.hpp>

#include "config.h"
#include "decision_record.h"
#include "health.h"
#include "http_testing.h"
#include "pdp_query.h"

using vigil::PdpStatus;
using vigil::testing::last_request_of;
using vigil::testing::set_body;
using vigil::testing::set_status;
using vigil::testing::url_of;
using namespace std::chrono_literals;

namespace {

struct Asking {
    std::shared_ptr<vigil::testing::TestHttpServer> server = vigil::testing::start_test_server(200, false);
    vigil::Config config;
    std::unique_ptr<vigil::PdpClient> client;

    explicit Asking(const std::string& protocol = "authzen") {
        auto c = vigil::parse_config(
            "[pdp]\nprotocol = \"" + protocol + "\"\nurls = [\"" + url_of(*server) + "\"]\ntimeout = \"2s\"\n",
            "test.toml");
        REQUIRE(c);
        config = std::move(*c);
        auto made = vigil::PdpClient::create(config.pdp);
        REQUIRE(made);
        client = std::move(*made);
    }

    vigil::PdpQuery query(const std::string& user, const std::string& service) const {
        vigil::DecisionRecord r;
        r.request_id = "q-" + user;
        r.at = std::chrono::system_clock::now();
        r.request.user = user;
        r.request.service = service;
        r.identity = vigil::Identity{0, 0, {user}, user};
        return vigil::build_pdp_query(r, config);
    }

    vigil::PdpResult ask(int status, const std::string& body) {
        set_status(*server, status);
        set_body(*server, body);
        auto q = query("root", "sshd");
        return client->ask(q, vigil::question_key(q), "req-1", 2000ms);
    }
};

}  // namespace

TEST_CASE("pdp client: each kind of answer becomes the status the fallback logic expects") {
    Asking a;
    SECTION("a decision is answered, allow or deny, with its obligations") {
        auto r = a.ask(200, R"({"decision": true, "context": {"session_max_seconds": 600}})");
        CHECK(r.status == PdpStatus::Answered);
        CHECK(r.allow);
        REQUIRE(r.obligations.session_max);
        CHECK(*r.obligations.session_max == 600s);
        CHECK(r.url.starts_with(url_of(*a.server)));
        auto no = a.ask(200, R"({"decision": false})");
        CHECK(no.status == PdpStatus::Answered);
        CHECK_FALSE(no.allow);
    }
    SECTION("an obligation this host cannot carry out is refused") {
        auto r = a.ask(200, R"({"decision": true, "context": {"launch_missiles": true}})");
        CHECK(r.status == PdpStatus::Refused);
        CHECK_FALSE(r.error.empty());
    }
    SECTION("a 4xx is declined: the PDP's no, never an outage") {
        auto r = a.ask(404, R"({"error": "no such path"})");
        CHECK(r.status == PdpStatus::Declined);
    }
    SECTION("a 5xx and a malformed body are failures: the fallback decides") {
        CHECK(a.ask(503, "").status == PdpStatus::Failed);
        auto garbage = a.ask(200, "not json");
        CHECK(garbage.status == PdpStatus::Failed);
        CHECK(garbage.error_kind == "malformed");
    }
}

TEST_CASE("pdp client: a request with no time left to ask fails, and says nothing of the PDP's health") {
    Asking a;
    REQUIRE(a.ask(200, R"({"decision": true})").status == PdpStatus::Answered);
    REQUIRE_FALSE(vigil::vigil_health().snapshot().pdp_failing());
    auto q = a.query("root", "sshd");
    auto r = a.client->ask(q, vigil::question_key(q), "req-late", 0ms);
    CHECK(r.status == PdpStatus::Failed);
    CHECK(r.error_kind == "timeout");
    // Under overload every late request would otherwise flip the state and
    // log "no usable answer" / "answering again" in turn.
    CHECK_FALSE(vigil::vigil_health().snapshot().pdp_failing());
}

TEST_CASE("pdp client: the AuthZEN request names the subject, the action and the request id") {
    Asking a;
    a.ask(200, R"({"decision": true})");
    std::string sent = last_request_of(*a.server);
    CHECK(sent.find("POST /access/v1/evaluation ") != std::string::npos);
    CHECK(sent.find(R"("id":"root")") != std::string::npos);
    CHECK(sent.find("req-1") != std::string::npos);
}

TEST_CASE("pdp client: an AuthZEN batch is one request, its answers in order") {
    Asking a;
    set_body(*a.server, R"({"evaluations": [{"decision": true}, {"decision": false}, {"decision": true}]})");
    // A round holds no subject twice (rounds_by_subject): three users, one request.
    std::vector<vigil::PdpQuery> queries = {a.query("alice", "sshd"), a.query("bob", "sudo"), a.query("carol", "su")};
    auto results = a.client->ask_batch(queries, {"r1", "r2", "r3"}, "batch-1", 2000ms);
    REQUIRE(results.size() == 3);
    CHECK(vigil::testing::requests_to(*a.server) == 1);
    CHECK(last_request_of(*a.server).find("POST /access/v1/evaluations ") != std::string::npos);
    CHECK(results[0].allow);
    CHECK_FALSE(results[1].allow);
    CHECK(results[2].allow);
    for (const auto& r : results) {
        CHECK(r.status == PdpStatus::Answered);
        CHECK(r.batch_id == "batch-1");
        CHECK(r.batch_size == 3);
    }
    SECTION("a batch answer with the wrong count fails every query alike") {
        set_body(*a.server, R"({"evaluations": [{"decision": true}]})");
        auto short_answer = a.client->ask_batch(queries, {"r1", "r2", "r3"}, "batch-2", 2000ms);
        REQUIRE(short_answer.size() == 3);
        for (const auto& r : short_answer) CHECK(r.status == PdpStatus::Failed);
    }
}
