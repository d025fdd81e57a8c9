// PdpTransport against real local HTTP servers: failover order, the one
// overall deadline, what does and does not fail over, and the breakers.
#include "pdp_transport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "http_testing.h"

using namespace std::chrono_literals;
using vigil::HttpErrorKind;
using vigil::PdpExchange;
using vigil::PdpTransport;
using vigil::PdpTransportSettings;
using State = vigil::CircuitBreaker::State;

// The test HTTP server lives in http_client_test.cc.

using vigil::testing::requests_to;
using vigil::testing::url_of;

namespace {

auto server(int status) { return vigil::testing::start_test_server(status, false); }
auto silent_server() { return vigil::testing::start_test_server(200, true); }
std::string refused_url() { return "http://127.0.0.1:" + std::to_string(vigil::testing::closed_port()); }

const std::string kPath = "/access/v1/evaluation";
const std::string kBody = R"({"action":{"name":"ssh"}})";

// A clock the test moves by hand, for the breakers.
struct FakeClock {
    vigil::CircuitBreaker::Clock::time_point now{};
    vigil::CircuitBreaker::NowFn fn() {
        return [this] { return now; };
    }
};

std::unique_ptr<PdpTransport> make(PdpTransportSettings s,
                                   vigil::CircuitBreaker::NowFn now = vigil::CircuitBreaker::Clock::now) {
    auto t = PdpTransport::create(s, std::move(now));
    REQUIRE(t);
    return std::move(*t);
}

std::string create_error(const PdpTransportSettings& s) {
    auto t = PdpTransport::create(s);
    REQUIRE_FALSE(t);
    return t.error().message;
}

}  // namespace

TEST_CASE("pdp transport fails over to the next url on a 5xx") {
    auto a = server(500);
    auto b = server(200);
    auto t = make({.urls = {url_of(*a), url_of(*b)}});
    PdpExchange x = t->post(kPath, kBody, 2s);
    REQUIRE(x.result);
    CHECK(x.result->body == R"({"decision":true})");
    CHECK(x.url == url_of(*b));
    REQUIRE(x.failed.size() == 1);
    CHECK(x.failed[0].url == url_of(*a));
    CHECK(x.failed[0].kind == HttpErrorKind::HttpStatus);
    CHECK(x.failed[0].message == "HTTP 500");
    CHECK(requests_to(*a) == 1);
    CHECK(requests_to(*b) == 1);
}

TEST_CASE("pdp transport fails over when the first url refuses connections") {
    auto b = server(200);
    std::string a = refused_url();
    auto t = make({.urls = {a, url_of(*b)}});
    PdpExchange x = t->post(kPath, kBody, 2s);
    REQUIRE(x.result);
    CHECK(x.url == url_of(*b));
    REQUIRE(x.failed.size() == 1);
    CHECK(x.failed[0].url == a);
    CHECK(x.failed[0].kind == HttpErrorKind::Connect);
}

TEST_CASE("pdp transport returns a 4xx as is without failing over") {
    auto a = server(400);
    auto b = server(200);
    auto t = make({.urls = {url_of(*a), url_of(*b)}, .breaker_failures = 1});
    for (int i = 0; i < 3; ++i) {
        PdpExchange x = t->post(kPath, kBody, 2s);
        REQUIRE_FALSE(x.result);
        CHECK(x.result.error().kind == HttpErrorKind::HttpStatus);
        CHECK(x.result.error().status == 400);
        CHECK(x.url == url_of(*a));  // the endpoint that said no
        CHECK(x.failed.empty());
    }
    CHECK(requests_to(*b) == 0);
    CHECK(t->breaker_state(0) == State::Closed);  // a 4xx proves the endpoint is alive
}

TEST_CASE("pdp transport fails over on a 3xx: a redirect it does not follow is no answer") {
    auto a = server(302);
    auto b = server(200);
    auto t = make({.urls = {url_of(*a), url_of(*b)}, .breaker_failures = 1});
    PdpExchange x = t->post(kPath, kBody, 2s);
    REQUIRE(x.result);
    CHECK(x.url == url_of(*b));
    REQUIRE(x.failed.size() == 1);
    CHECK(x.failed[0].kind == HttpErrorKind::HttpStatus);
    CHECK(t->breaker_state(0) == State::Open);
}

TEST_CASE("pdp transport gives all attempts one deadline together") {
    auto a = silent_server();
    auto b = server(200);
    auto t = make({.urls = {url_of(*a), url_of(*b)}});
    auto start = std::chrono::steady_clock::now();
    PdpExchange x = t->post(kPath, kBody, 400ms);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(x.result);
    CHECK(x.result.error().kind == HttpErrorKind::Timeout);
    CHECK(x.url.empty());
    REQUIRE(x.failed.size() == 1);  // a used up the budget; b never got a turn
    CHECK(x.failed[0].kind == HttpErrorKind::Timeout);
    CHECK(requests_to(*b) == 0);
    CHECK(took < 1400ms);
}

TEST_CASE("pdp transport skips an endpoint with an open breaker and probes it after the cool-down") {
    FakeClock clock;
    auto a = server(503);
    auto b = server(200);
    auto t = make({.urls = {url_of(*a), url_of(*b)}, .breaker_failures = 2, .breaker_cooldown = 5s}, clock.fn());
    CHECK(t->post(kPath, kBody, 2s).url == url_of(*b));
    CHECK(t->post(kPath, kBody, 2s).url == url_of(*b));
    CHECK(t->breaker_state(0) == State::Open);
    CHECK(requests_to(*a) == 2);

    PdpExchange skipped = t->post(kPath, kBody, 2s);
    CHECK(skipped.url == url_of(*b));
    REQUIRE(skipped.failed.size() == 1);
    CHECK(skipped.failed[0].kind == HttpErrorKind::CircuitOpen);
    CHECK(skipped.failed[0].message == "skipped; next probe in 5000ms");
    CHECK(requests_to(*a) == 2);  // not asked

    clock.now += 5s;
    SECTION("the probe succeeds: back in front") {
        vigil::testing::set_status(*a, 200);
        PdpExchange x = t->post(kPath, kBody, 2s);
        CHECK(x.url == url_of(*a));
        CHECK(x.failed.empty());
        CHECK(t->breaker_state(0) == State::Closed);
    }
    SECTION("the probe fails: skipped for another cool-down") {
        CHECK(t->post(kPath, kBody, 2s).url == url_of(*b));
        CHECK(requests_to(*a) == 3);
        CHECK(t->breaker_state(0) == State::Open);
        CHECK(t->post(kPath, kBody, 2s).failed[0].kind == HttpErrorKind::CircuitOpen);
        CHECK(requests_to(*a) == 3);
    }
}

TEST_CASE("pdp transport fails fast when every breaker is open") {
    FakeClock clock;
    auto a = server(502);
    auto t = make({.urls = {url_of(*a)}, .breaker_failures = 1}, clock.fn());
    PdpExchange first = t->post(kPath, kBody, 2s);
    REQUIRE_FALSE(first.result);
    CHECK(first.result.error().kind == HttpErrorKind::HttpStatus);
    CHECK_THAT(first.result.error().message,
               Catch::Equals("no PDP endpoint answered: " + url_of(*a) + ": http_status: HTTP 502"));

    auto start = std::chrono::steady_clock::now();
    PdpExchange second = t->post(kPath, kBody, 2s);
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
    REQUIRE_FALSE(second.result);
    CHECK(second.result.error().kind == HttpErrorKind::CircuitOpen);
    CHECK(requests_to(*a) == 1);
}

TEST_CASE("pdp transport appends the path to a base url with a prefix") {
    auto a = server(200);
    auto t = make({.urls = {url_of(*a) + "/pdp/"}});
    REQUIRE(t->post(kPath, kBody, 2s).result);
    CHECK_THAT(vigil::testing::last_request_of(*a), Catch::StartsWith("POST /pdp/access/v1/evaluation HTTP/1.1\r\n"));
}

TEST_CASE("pdp transport sends the token read from bearer_token_file") {
    char tmpl[] = "/tmp/vigil-token-XXXXXX";
    std::filesystem::path dir = mkdtemp(tmpl);
    std::string token = (dir / "token").string();
    std::ofstream(token) << "tok-from-file\n";
    auto a = server(200);

    SECTION("mode 0600: used") {
        REQUIRE(::chmod(token.c_str(), 0600) == 0);
        auto t = make({.urls = {url_of(*a)}, .bearer_token_file = token});
        REQUIRE(t->post(kPath, kBody, 2s).result);
        CHECK_THAT(vigil::testing::last_request_of(*a), Catch::Contains("\r\nAuthorization: Bearer tok-from-file\r\n"));
    }
    SECTION("mode 0644: refused at creation") {
        REQUIRE(::chmod(token.c_str(), 0644) == 0);
        CHECK_THAT(create_error({.urls = {url_of(*a)}, .bearer_token_file = token}),
                   Catch::Contains("mode 0644: must not be accessible by group or others"));
    }
    SECTION("over plain http to a host that is not loopback: refused") {
        REQUIRE(::chmod(token.c_str(), 0600) == 0);
        CHECK_THAT(create_error({.urls = {"http://pdp.example.com"}, .bearer_token_file = token}),
                   Catch::Contains("would send the bearer token in clear text; use https"));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("pdp transport checks its settings at creation") {
    CHECK(create_error({}) == "no pdp urls configured");
    CHECK_THAT(create_error({.urls = {"ftp://pdp.example.com"}}), Catch::Contains("scheme must be https or http"));
    CHECK_THAT(create_error({.urls = {"pdp.example.com:8443"}}), Catch::Contains("not a URL"));
    CHECK_THAT(create_error({.urls = {"https://user:pw@pdp.example.com"}}),
               Catch::Contains("must not carry credentials"));
    CHECK_THAT(create_error({.urls = {"https://pdp.example.com/?x=1"}}), Catch::Contains("must not have a query"));
    CHECK_THAT(create_error({.urls = {"https://pdp.example.com"}, .breaker_failures = 0}),
               Catch::Contains("breaker_failures"));
    CHECK_THAT(create_error({.urls = {"https://pdp.example.com"}, .deadline = 0ms}),
               Catch::Contains("deadline must be positive"));
    CHECK_THAT(
        create_error(
            {.urls = {"https://pdp.example.com"}, .client_cert = "/nonexistent.pem", .client_key = "/nonexistent.key"}),
        Catch::Contains("/nonexistent.key: cannot open"));
    // Loopback over plain http is fine without a token (a PDP sidecar).
    CHECK(PdpTransport::create({.urls = {"http://127.0.0.1:1", "http://[::1]:1"}}));
}
