// Security Event Tokens (agent/ssf/security_event.h), made and signed here
// with real OpenSSL keys, as an SSF transmitter would send them.
#include "security_event.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "jose_testing.h"

using nlohmann::json;
using vigil::SetCheck;
using vigil::SetError;
using vigil::StreamTrust;
using vigil::testing::ec_key;
using vigil::testing::jwks_of;
using vigil::testing::rsa_key;
using vigil::testing::signed_token;
using vigil::testing::TestKey;

namespace {

using Clock = std::chrono::system_clock;

constexpr int64_t kNow = 1'700'000'000;
const Clock::time_point now{std::chrono::seconds(kNow)};
const std::string kRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

const vigil::Jwks& transmitter_keys() {
    static const vigil::Jwks keys = jwks_of(json::array({rsa_key().jwk(), ec_key().jwk()}));
    return keys;
}

StreamTrust trust() { return {"https://idp.example.com/", {"vigil:web-1"}}; }

json good_claims() {
    return {{"iss", "https://idp.example.com/"},
            {"aud", "vigil:web-1"},
            {"jti", "set-1"},
            {"iat", kNow - 5},
            {"txn", "cause-7"},
            {"sub_id", {{"format", "email"}, {"email", "alice@example.com"}}},
            {"events",
             {{kRevoked,
               {{"event_timestamp", kNow - 10},
                {"initiating_entity", "admin"},
                {"reason_admin", {{"en", "token stolen"}}}}}}}};
}

std::string set_token(const json& claims, const TestKey& key = rsa_key(), json header = nullptr) {
    if (header.is_null()) header = {{"alg", key.alg}, {"kid", key.kid}, {"typ", "secevent+jwt"}};
    return signed_token(key, header, claims);
}

SetCheck check(const std::string& token, const StreamTrust& t = trust(), const std::string& jti = "set-1") {
    return vigil::verify_set(jti, token, transmitter_keys(), t, now);
}

// The refusal's code and description, or "ok".
std::string why(const SetCheck& c) {
    if (c.event) return "ok";
    return std::string(to_string(c.refusal.code)) + ": " + c.refusal.description;
}

std::string why_claims(const json& claims) { return why(check(set_token(claims))); }

}  // namespace

TEST_CASE("SET: a signed session-revoked for our stream verifies", "[ssf]") {
    SetCheck c = check(set_token(good_claims()));
    REQUIRE(c.event);
    CHECK(c.event->jti == "set-1");
    CHECK(c.event->issuer == "https://idp.example.com/");
    CHECK(c.event->txn == "cause-7");
    CHECK(c.event->type == kRevoked);
    CHECK(vigil::event_name(c.event->type) == "session-revoked");
    CHECK(c.event->subject["email"] == "alice@example.com");
    CHECK(c.event->issued_at == now - std::chrono::seconds(5));
    CHECK(c.event->event_time == now - std::chrono::seconds(10));
    CHECK(c.event->event["reason_admin"]["en"] == "token stolen");
}

TEST_CASE("SET: only the configured algs; never none", "[ssf]") {
    CHECK(why(check(set_token(good_claims(), ec_key()))) ==
          "invalid_request: SET: alg ES256 is not accepted (only RS256)");
    StreamTrust es = trust();
    es.algs = {"RS256", "ES256"};
    CHECK(why(check(set_token(good_claims(), ec_key()), es)) == "ok");
    std::string unsigned_set = vigil::testing::b64url(R"({"alg":"none","typ":"secevent+jwt"})") + "." +
                               vigil::testing::b64url(good_claims().dump()) + ".";
    CHECK(why(check(unsigned_set)) == "invalid_request: SET: alg none is not accepted (the token is unsigned)");
}

TEST_CASE("SET: a forged payload or an unknown key is invalid_key", "[ssf]") {
    std::string good = set_token(good_claims());
    json evil = good_claims();
    evil["sub_id"]["email"] = "bob@example.com";
    size_t a = good.find('.'), b = good.rfind('.');
    std::string forged = good.substr(0, a + 1) + vigil::testing::b64url(evil.dump()) + good.substr(b);
    CHECK(why(check(forged)) == "invalid_key: SET: signature does not verify");
    json header = {{"alg", "RS256"}, {"kid", "rotated-away"}, {"typ", "secevent+jwt"}};
    CHECK(why(check(set_token(good_claims(), rsa_key(), header))) ==
          "invalid_key: SET: no RS256 key with kid \"rotated-away\" in the provider's JWKS");
}

TEST_CASE("SET: another issuer is invalid_issuer; another audience invalid_audience", "[ssf]") {
    json other = good_claims();
    other["iss"] = "https://idp.example.com";  // no trailing slash: not byte for byte
    CHECK(why_claims(other) ==
          "invalid_issuer: SET: iss \"https://idp.example.com\" is not the issuer \"https://idp.example.com/\"");
    json aud = good_claims();
    aud["aud"] = "vigil:web-2";
    CHECK(why_claims(aud) ==
          "invalid_audience: SET: aud [\"vigil:web-2\"] does not include the stream's "
          "[\"vigil:web-1\"]");
    aud["aud"] = json::array({"vigil:web-2", "vigil:web-1"});
    CHECK(why_claims(aud) == "ok");
    aud.erase("aud");
    CHECK_THAT(why_claims(aud), Catch::StartsWith("invalid_audience: SET: aud []"));
}

TEST_CASE("SET: the typ must say secevent+jwt", "[ssf]") {
    json header = {{"alg", "RS256"}, {"kid", rsa_key().kid}, {"typ", "JWT"}};
    CHECK(why(check(set_token(good_claims(), rsa_key(), header))) ==
          "invalid_request: SET: typ \"JWT\" is not secevent+jwt");
    header["typ"] = "application/SecEvent+JWT";
    CHECK(why(check(set_token(good_claims(), rsa_key(), header))) == "ok");
    header.erase("typ");
    CHECK(why(check(set_token(good_claims(), rsa_key(), header))) ==
          "invalid_request: SET: typ \"\" is not secevent+jwt");
}

TEST_CASE("SET: an ID or access token does not pass for one (sub, exp)", "[ssf]") {
    json with_sub = good_claims();
    with_sub["sub"] = "alice";
    CHECK(why_claims(with_sub) == "invalid_request: SET: carries sub or exp, which SSF forbids in a SET");
    json with_exp = good_claims();
    with_exp["exp"] = kNow + 600;
    CHECK(why_claims(with_exp) == "invalid_request: SET: carries sub or exp, which SSF forbids in a SET");
}

TEST_CASE("SET: its jti is the one it was delivered as", "[ssf]") {
    CHECK(why(check(set_token(good_claims()), trust(), "set-2")) ==
          "invalid_request: SET: jti \"set-1\" is not the one it was delivered as");
}

TEST_CASE("SET: iat within the clock skew ahead and max_age behind", "[ssf]") {
    json c = good_claims();
    c["iat"] = kNow + 299;
    CHECK(why_claims(c) == "ok");
    c["iat"] = kNow + 301;
    CHECK(why_claims(c) == "invalid_request: SET: iat is in the future");
    c["iat"] = kNow - 24 * 3600 + 1;
    CHECK(why_claims(c) == "ok");
    c["iat"] = kNow - 24 * 3600 - 1;
    CHECK(why_claims(c) == "invalid_request: SET: issued more than 86400 s ago, longer than vigil remembers SETs for");
    c["iat"] = "yesterday";
    CHECK(why_claims(c) == "invalid_request: SET: no iat, or not a time");
    c.erase("iat");
    CHECK(why_claims(c) == "invalid_request: SET: no iat, or not a time");
}

TEST_CASE("SET: exactly one event, a JSON object", "[ssf]") {
    json two = good_claims();
    two["events"]["https://schemas.openid.net/secevent/caep/event-type/credential-change"] = json::object();
    CHECK(why_claims(two) == "invalid_request: SET: events does not hold exactly one event");
    json none = good_claims();
    none["events"] = json::object();
    CHECK(why_claims(none) == "invalid_request: SET: events does not hold exactly one event");
    json scalar = good_claims();
    scalar["events"] = {{kRevoked, "now"}};
    CHECK(why_claims(scalar) == "invalid_request: SET: the event is not a JSON object");
}

TEST_CASE("SET: the subject is sub_id, else the event's own, with a format", "[ssf]") {
    json c = good_claims();
    c.erase("sub_id");
    CHECK(why_claims(c) == "invalid_request: SET: no sub_id with a format");
    c["events"][kRevoked]["subject"] = {{"subject_type", "iss_sub"}, {"iss", "https://idp"}, {"sub", "00u1"}};
    SetCheck got = check(set_token(c));
    REQUIRE(got.event);
    CHECK(got.event->subject["format"] == "iss_sub");
    c["sub_id"] = {{"email", "alice@example.com"}};
    CHECK(why_claims(c) == "invalid_request: SET: no sub_id with a format");
}

TEST_CASE("SET: malformed tokens are invalid_request, never a crash", "[ssf]") {
    CHECK(why(check("")) == "invalid_request: SET: not three base64url parts separated by dots");
    CHECK(why(check("a.b")) == "invalid_request: SET: not three base64url parts separated by dots");
    CHECK(why(check("!!.e30.")) == "invalid_request: SET: header is not base64url");
    CHECK(why(check(std::string(vigil::kMaxSetBytes + 1, 'a'))) == "invalid_request: SET: larger than 65536 bytes");
    std::string array_payload = vigil::testing::b64url(R"({"alg":"RS256","kid":"rsa-1","typ":"secevent+jwt"})");
    std::string input = array_payload + "." + vigil::testing::b64url("[1,2]");
    CHECK(why(check(input + "." + vigil::testing::b64url(rsa_key().sign(input)))) ==
          "invalid_request: SET: payload is not a JSON object");
}

TEST_CASE("SET: event names: CAEP's, SSF's and RISC's short, others whole", "[ssf]") {
    CHECK(vigil::event_name("https://schemas.openid.net/secevent/ssf/event-type/verification") == "verification");
    CHECK(vigil::event_name("https://schemas.openid.net/secevent/risc/event-type/account-disabled") ==
          "account-disabled");
    CHECK(vigil::event_name("https://example.com/event") == "https://example.com/event");
    CHECK(vigil::event_name("https://schemas.openid.net/secevent/caep/event-type/") ==
          "https://schemas.openid.net/secevent/caep/event-type/");
}
