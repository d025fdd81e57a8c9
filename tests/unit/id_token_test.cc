// ID token verification (agent/step_up/id_token.h) and JWKS parsing (agent/step_up/jwks.h)
// with tokens made and signed here, with real OpenSSL RSA and P-256 keys.
#include "id_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "device_flow.h"
#include "jose_testing.h"
#include "jwks.h"

using nlohmann::json;
using vigil::DeviceFlowSettings;
using vigil::Jwks;
using vigil::testing::b64url;
using vigil::testing::ec_key;
using vigil::testing::jwks_of;
using vigil::testing::rsa_key;
using vigil::testing::signed_token;
using vigil::testing::TestKey;

namespace {

using Clock = std::chrono::system_clock;

constexpr int64_t kNow = 1'700'000'000;
const Clock::time_point now{std::chrono::seconds(kNow)};

const Jwks& provider_keys() {
    static const Jwks keys = jwks_of(json::array({rsa_key().jwk(), ec_key().jwk()}));
    return keys;
}

DeviceFlowSettings settings() {
    DeviceFlowSettings s;
    s.issuer = "https://id.example.com";
    s.client_id = "vigil";
    return s;
}

json good_claims() {
    return {{"iss", "https://id.example.com"},
            {"aud", "vigil"},
            {"sub", "alice"},  // user_claim's default: the provider's subject is the local user name
            {"exp", kNow + 600},
            {"iat", kNow - 5},
            {"auth_time", kNow - 30},
            {"amr", {"pwd", "otp"}},
            {"acr", "urn:example:mfa"},
            {"preferred_username", "alice.example"}};
}

std::string token(const TestKey& key, const json& claims, json header = nullptr) {
    if (header.is_null()) header = {{"alg", key.alg}, {"kid", key.kid}, {"typ", "JWT"}};
    return signed_token(key, header, claims);
}

// The refusal for a token, or "" when it verifies.
std::string why(std::string_view tok, const DeviceFlowSettings& s = settings(), const std::string& user = "alice") {
    auto r = vigil::verify_id_token(tok, provider_keys(), s, user, now);
    return r ? "" : r.error().message;
}

std::string why_claims(const json& claims, const DeviceFlowSettings& s = settings()) {
    return why(token(rsa_key(), claims), s);
}

}  // namespace

TEST_CASE("id token: a good RS256 token verifies and yields its claims", "[oidc]") {
    auto r = vigil::verify_id_token(token(rsa_key(), good_claims()), provider_keys(), settings(), "alice", now);
    REQUIRE(r);
    CHECK(r->user == "alice");
    CHECK(r->subject == "alice");
    CHECK(r->amr == std::vector<std::string>{"pwd", "otp"});
    CHECK(r->acr == "urn:example:mfa");
    CHECK(r->issuer == "https://id.example.com");
    CHECK(r->auth_time == Clock::time_point(std::chrono::seconds(kNow - 30)));
}

TEST_CASE("id token: a good ES256 token verifies", "[oidc]") { CHECK(why(token(ec_key(), good_claims())).empty()); }

TEST_CASE("id token: alg none is refused", "[oidc]") {
    std::string tok = b64url(R"({"alg":"none"})") + "." + b64url(good_claims().dump()) + ".";
    CHECK(why(tok) == "ID token: alg none is not accepted (the token is unsigned)");
}

TEST_CASE("id token: HS256 is refused, even keyed with the provider's public key", "[oidc]") {
    // The classic confusion: an HMAC keyed with bytes the attacker knows.
    std::string input = b64url(R"({"alg":"HS256","kid":"rsa-1"})") + "." + b64url(good_claims().dump());
    std::string key = rsa_key().jwk()["n"];
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &len);
    std::string tok = input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
    CHECK(why(tok) == "ID token: alg HS256 is not accepted (only RS256 and ES256)");
}

TEST_CASE("id token: a kid that is not in the JWKS is refused", "[oidc]") {
    std::string tok = token(rsa_key(), good_claims(), {{"alg", "RS256"}, {"kid", "rotated-away"}});
    CHECK(why(tok) == "ID token: no RS256 key with kid \"rotated-away\" in the provider's JWKS");
}

TEST_CASE("id token: a kid whose key is for another alg is refused", "[oidc]") {
    std::string tok = token(rsa_key(), good_claims(), {{"alg", "ES256"}, {"kid", "rsa-1"}});
    CHECK(why(tok) == "ID token: no ES256 key with kid \"rsa-1\" in the provider's JWKS");
}

TEST_CASE("id token: a tampered payload does not verify", "[oidc]") {
    std::string tok = token(rsa_key(), good_claims());
    json evil = good_claims();
    evil["sub"] = "root";
    size_t a = tok.find('.'), b = tok.rfind('.');
    std::string forged = tok.substr(0, a + 1) + b64url(evil.dump()) + tok.substr(b);
    CHECK(why(forged, settings(), "root") == "ID token: signature does not verify");
}

TEST_CASE("id token: a bad ES256 signature does not verify", "[oidc]") {
    std::string input = b64url(R"({"alg":"ES256","kid":"ec-1"})") + "." + b64url(good_claims().dump());
    std::string sig = ec_key().sign(input);
    SECTION("one bit flipped") {
        sig[10] = static_cast<char>(sig[10] ^ 1);
        CHECK(why(input + "." + b64url(sig)) == "ID token: signature does not verify");
    }
    SECTION("DER instead of raw r || s") {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, ec_key().pkey.get()) == 1);
        std::string der(80, '\0');
        size_t len = der.size();
        REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                               reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
        der.resize(len);
        CHECK(why(input + "." + b64url(der)) == "ID token: signature does not verify");
    }
    SECTION("r and s zero") {
        CHECK(why(input + "." + b64url(std::string(64, '\0'))) == "ID token: signature does not verify");
    }
    SECTION("empty") { CHECK(why(input + ".") == "ID token: signature does not verify"); }
}

TEST_CASE("id token: the wrong issuer is refused", "[oidc]") {
    json c = good_claims();
    c["iss"] = "https://id.example.com/";  // exact match only, no normalising
    CHECK(why_claims(c) == "ID token: iss \"https://id.example.com/\" is not the issuer \"https://id.example.com\"");
    c.erase("iss");
    CHECK(why_claims(c) == "ID token: iss \"\" is not the issuer \"https://id.example.com\"");
}

TEST_CASE("id token: aud must hold client_id, and azp must name it among several", "[oidc]") {
    json c = good_claims();
    c["aud"] = "someone-else";
    CHECK(why_claims(c) == "ID token: aud [someone-else] does not include client_id vigil");
    c["aud"] = json::array({"someone-else", "vigil"});
    CHECK(why_claims(c) == "ID token: azp \"\" is not client_id vigil");
    c["azp"] = "someone-else";
    CHECK(why_claims(c) == "ID token: azp \"someone-else\" is not client_id vigil");
    c["azp"] = "vigil";
    CHECK(why_claims(c).empty());
    c["aud"] = json::array({"vigil"});
    c.erase("azp");
    CHECK(why_claims(c).empty());
    c.erase("aud");
    CHECK(why_claims(c) == "ID token: aud [] does not include client_id vigil");
}

TEST_CASE("id token: an expired token is refused, within the leeway it is not", "[oidc]") {
    json c = good_claims();
    c["exp"] = kNow - 31;
    CHECK(why_claims(c) == "ID token: expired at 2023-11-14T22:12:49.000Z (now 2023-11-14T22:13:20.000Z)");
    c["exp"] = kNow - 29;
    CHECK(why_claims(c).empty());
    c["exp"] = "tomorrow";
    CHECK(why_claims(c) == "ID token: exp is not a number");
    c.erase("exp");
    CHECK(why_claims(c) == "ID token: no exp claim");
}

TEST_CASE("id token: a token issued in the future is refused", "[oidc]") {
    json c = good_claims();
    c["iat"] = kNow + 120;
    CHECK_THAT(why_claims(c), Catch::StartsWith("ID token: issued in the future"));
    c["iat"] = kNow + 20;  // clock skew within the leeway
    CHECK(why_claims(c).empty());
}

TEST_CASE("id token: auth_time older than max_auth_age is refused", "[oidc]") {
    json c = good_claims();
    c["auth_time"] = kNow - 1000;
    CHECK(why_claims(c) ==
          "ID token: authentication at 2023-11-14T21:56:40.000Z is 1000 s old, more than max_auth_age 300 s");
    DeviceFlowSettings s = settings();
    s.max_auth_age = std::chrono::seconds(3600);
    CHECK(why_claims(c, s).empty());
}

TEST_CASE("id token: a missing auth_time is refused", "[oidc]") {
    json c = good_claims();
    c.erase("auth_time");
    CHECK(why_claims(c) == "ID token: no auth_time claim (the provider must send auth_time: require_auth_time)");
}

TEST_CASE("id token: amr without a second factor is refused, naming it", "[oidc]") {
    json c = good_claims();
    c["amr"] = {"pwd"};
    CHECK(why_claims(c) == "ID token: amr [pwd] shows no second factor (accept_amr: mfa, otp, hwk, swk, fpt, face)");
    c.erase("amr");
    CHECK_THAT(why_claims(c), Catch::StartsWith("ID token: amr [] shows no second factor"));
    c["amr"] = "otp";
    CHECK(why_claims(c) == "ID token: amr is not an array");
}

TEST_CASE("id token: an acr in accept_acr shows MFA when amr does not", "[oidc]") {
    json c = good_claims();
    c["amr"] = {"pwd"};
    c["acr"] = "urn:example:mfa";
    DeviceFlowSettings s = settings();
    s.accept_acr = {"urn:example:mfa", "phr"};
    CHECK(why_claims(c, s).empty());
    c["acr"] = "urn:example:pwd";
    CHECK(why_claims(c, s) ==
          "ID token: amr [pwd] shows no second factor (accept_amr: mfa, otp, hwk, swk, fpt, face), and acr "
          "\"urn:example:pwd\" is not in accept_acr (urn:example:mfa, phr)");
}

TEST_CASE("id token: a token for another user is refused, naming the claim and both users", "[oidc]") {
    json c = good_claims();
    c["sub"] = "bob";
    CHECK(why_claims(c) == "ID token: sub \"bob\" (user_claim) is not the local user alice");
    c["sub"] = "bob\x1b[2J";
    CHECK(why_claims(c) == "ID token: sub \"bob?[2J\" (user_claim) is not the local user alice");  // no escapes
    DeviceFlowSettings s = settings();
    s.user_claim = "preferred_username";
    c.erase("preferred_username");
    CHECK(why_claims(c, s) == "ID token: no preferred_username claim (user_claim) to name the user");
}

TEST_CASE("id token: the user is named by sub by default, never by preferred_username", "[oidc]") {
    CHECK(DeviceFlowSettings{}.user_claim == "sub");
    json c = good_claims();
    c["sub"] = "00u-alice-1001";  // an opaque subject, as most providers issue
    c["preferred_username"] = "alice";
    CHECK(why_claims(c) ==
          "ID token: sub \"00u-alice-1001\" (user_claim) is not the local user alice; its preferred_username is "
          "alice, but that claim names the user only when the admin sets user_claim = \"preferred_username\" (it "
          "can change and repeat at the provider)");
    DeviceFlowSettings s = settings();
    s.user_claim = "preferred_username";  // the admin's explicit choice
    CHECK(why_claims(c, s).empty());
}

TEST_CASE("id token: user_claim picks the claim that names the user", "[oidc]") {
    json c = good_claims();
    c["sub"] = "00u-alice-1001";
    c["email"] = "alice";
    c["preferred_username"] = "alice@example.com";
    DeviceFlowSettings s = settings();
    CHECK_THAT(why_claims(c, s), Catch::StartsWith("ID token: sub \"00u-alice-1001\" (user_claim) is not"));
    s.user_claim = "preferred_username";
    CHECK(why_claims(c, s) ==
          "ID token: preferred_username \"alice@example.com\" (user_claim) is not the local user alice");
    s.user_claim = "email";
    CHECK(why_claims(c, s).empty());
    s.user_claim = "unix_name";  // a claim the provider fills from an attribute users cannot change
    c["unix_name"] = "alice";
    CHECK(why_claims(c, s).empty());
}

TEST_CASE("id token: the user claim must equal the local user name byte for byte", "[oidc]") {
    for (const char* claim : {"sub", "unix_name"}) {
        DeviceFlowSettings s = settings();
        s.user_claim = claim;
        for (const std::string& other :
             {std::string("Alice"), std::string("ALICE"), std::string("alice "), std::string(" alice"),
              std::string("alice\n"), std::string("al"), std::string("alice2"), std::string("alice@example.com"),
              std::string("alice\0x", 7), std::string("alice\0", 6)}) {
            json c = good_claims();
            c[claim] = other;
            INFO(claim << " = \"" << other << "\"");
            CHECK_THAT(why_claims(c, s), Catch::Contains("(user_claim) is not the local user alice"));
        }
    }
}

TEST_CASE("id token: a user claim that is missing, empty or not a string is refused", "[oidc]") {
    DeviceFlowSettings s = settings();
    s.user_claim = "unix_name";
    json c = good_claims();
    CHECK(why_claims(c, s) == "ID token: no unix_name claim (user_claim) to name the user");
    for (const json& v : {json(1001), json::array({"alice"}), json{{"name", "alice"}}, json(nullptr), json(true)}) {
        c["unix_name"] = v;
        INFO("unix_name = " << v.dump());
        CHECK(why_claims(c, s) == "ID token: unix_name (user_claim) is not a string");
    }
    c["unix_name"] = "";
    CHECK(why_claims(c, s) == "ID token: unix_name \"\" (user_claim) is not the local user alice");
    // An empty local user name matches nothing, not an empty claim.
    auto r = vigil::verify_id_token(token(rsa_key(), c), provider_keys(), s, "", now);
    CHECK_FALSE(r);
    // sub is required of every ID token, whatever user_claim is.
    c = good_claims();
    c["sub"] = 1001;
    CHECK(why_claims(c) == "ID token: no sub claim");
}

TEST_CASE("id token: claims the provider may change or reuse are mutable, and user_claim on one warns", "[oidc]") {
    for (const char* claim : {"preferred_username", "email", "name", "nickname", "upn"}) {
        CHECK(vigil::is_mutable_claim(claim));
        DeviceFlowSettings s = settings();
        s.user_claim = claim;
        CHECK_THAT(vigil::user_claim_warning(s), Catch::Contains(std::string("user_claim = \"") + claim + "\""));
    }
    for (const char* claim : {"sub", "unix_name", "Preferred_Username"}) {
        CHECK_FALSE(vigil::is_mutable_claim(claim));
        DeviceFlowSettings s = settings();
        s.user_claim = claim;
        CHECK(vigil::user_claim_warning(s).empty());
    }
}

TEST_CASE("id token: crit header extensions are refused", "[oidc]") {
    std::string tok = token(rsa_key(), good_claims(), {{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"exp"}}});
    CHECK(why(tok) == "ID token: header lists crit extensions, which vigil does not implement");
}

TEST_CASE("id token: garbage is an error, never a crash", "[oidc]") {
    std::string good = token(rsa_key(), good_claims());
    CHECK(why("") == "ID token: not three base64url parts separated by dots");
    CHECK(why("abc") == "ID token: not three base64url parts separated by dots");
    CHECK(why("a.b") == "ID token: not three base64url parts separated by dots");
    CHECK(why(good + ".x") == "ID token: not three base64url parts separated by dots");
    CHECK(why("..") == "ID token: header is not a JSON object");
    CHECK(why("e30=.e30.") == "ID token: header is not base64url");  // padding is not JOSE's base64url
    CHECK(why("ey!J.e30.") == "ID token: header is not base64url");
    CHECK(why(b64url("[1,2]") + ".e30.") == "ID token: header is not a JSON object");
    CHECK(why(b64url("{\"alg\":") + ".e30.") == "ID token: header is not a JSON object");
    CHECK(why(b64url("{\"alg\":7}") + ".e30.") == "ID token: header has no alg");
    CHECK(why(b64url("{\"alg\":\"RS256\",\"kid\":[]}") + ".e30.") == "ID token: kid is not a string");
    CHECK(why(std::string(vigil::kMaxIdTokenBytes + 1, 'a')) == "ID token: larger than 16384 bytes");
    // A signed payload that is not a JSON object.
    std::string input = b64url(R"({"alg":"RS256","kid":"rsa-1"})") + "." + b64url("\"just a string\"");
    CHECK(why(input + "." + b64url(rsa_key().sign(input))) == "ID token: payload is not a JSON object");
    // Numbers that would overflow a time_point.
    json c = good_claims();
    c["exp"] = 1e300;
    CHECK(why_claims(c) == "ID token: exp is out of range");
    c["exp"] = -1;
    CHECK(why_claims(c) == "ID token: exp is out of range");
    for (size_t cut = 0; cut < good.size(); cut += 7) {
        INFO("cut at " << cut);
        CHECK_FALSE(why(good.substr(0, cut)).empty());
    }
}

TEST_CASE("jwks: keeps RS256 and ES256 signing keys, skips the rest", "[oidc]") {
    json rsa = rsa_key().jwk();
    json ec = ec_key().jwk();
    json enc = rsa;
    enc["kid"] = "enc";
    enc["use"] = "enc";
    json ps = rsa;
    ps["kid"] = "ps";
    ps["alg"] = "PS256";
    json okp = {
        {"kty", "OKP"}, {"crv", "Ed25519"}, {"kid", "ed"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
    json p384 = ec;
    p384["kid"] = "p384";
    p384["crv"] = "P-384";
    json off_curve = ec;
    off_curve["kid"] = "off";
    off_curve["y"] = off_curve["x"];
    json broken = {{"kty", "RSA"}, {"kid", "broken"}, {"n", "!!"}, {"e", "AQAB"}};
    Jwks keys = jwks_of(json::array({rsa, ec, enc, ps, okp, p384, off_curve, broken, "not an object"}));
    CHECK(keys.size() == 2);
    CHECK(keys.find("rsa-1", "RS256") != nullptr);
    CHECK(keys.find("ec-1", "ES256") != nullptr);
    CHECK(keys.find("rsa-1", "ES256") == nullptr);
    CHECK(keys.find("enc", "RS256") == nullptr);
}

TEST_CASE("jwks: refuses RSA keys under 2048 bits", "[oidc]") {
    std::shared_ptr<EVP_PKEY> small(EVP_RSA_gen(1024), EVP_PKEY_free);
    json jwk = TestKey{small, "RS256", "small"}.jwk();
    CHECK(jwks_of(json::array({jwk})).size() == 0);
}

TEST_CASE("jwks: an empty kid finds the only key for the alg", "[oidc]") {
    Jwks one = jwks_of(json::array({rsa_key().jwk()}));
    CHECK(one.find("", "RS256") != nullptr);
    CHECK(one.find("", "ES256") == nullptr);
    json second = rsa_key().jwk();
    second["kid"] = "rsa-2";
    CHECK(jwks_of(json::array({rsa_key().jwk(), second})).find("", "RS256") == nullptr);
    // A token without kid, against a provider that publishes one key.
    json header = {{"alg", "RS256"}};
    auto r = vigil::verify_id_token(token(rsa_key(), good_claims(), header), one, settings(), "alice", now);
    CHECK(r);
}

TEST_CASE("jwks: a document that is not a key set is an error", "[oidc]") {
    CHECK(Jwks::parse("").error().message == "JWKS: not JSON");
    CHECK(Jwks::parse("[]").error().message == "JWKS: no \"keys\" array");
    CHECK(Jwks::parse(R"({"keys":{}})").error().message == "JWKS: no \"keys\" array");
    CHECK(Jwks::parse(R"({"keys":[]})"));
    CHECK_FALSE(Jwks::parse(std::string(vigil::kMaxJwksBytes + 1, ' ')));
}

TEST_CASE("base64url: one spelling per value", "[oidc]") {
    CHECK(*vigil::base64url_decode("") == "");
    CHECK(*vigil::base64url_decode("YQ") == "a");
    CHECK(*vigil::base64url_decode("YWI") == "ab");
    CHECK(*vigil::base64url_decode("YWJj") == "abc");
    CHECK(*vigil::base64url_decode("-_8") == "\xfb\xff");
    CHECK_FALSE(vigil::base64url_decode("YQ=="));  // padding
    CHECK_FALSE(vigil::base64url_decode("YR"));    // non-zero trailing bits
    CHECK_FALSE(vigil::base64url_decode("Y"));     // impossible length
    CHECK_FALSE(vigil::base64url_decode("+/8"));   // base64, not base64url
}

TEST_CASE("device flow: provider URLs are https, or plain http on loopback only", "[oidc]") {
    auto ok = [](std::string_view url) { return static_cast<bool>(vigil::check_provider_url(url, "issuer")); };
    CHECK(ok("https://id.example.com"));
    CHECK(ok("https://id.example.com:8443/realms/ops"));
    CHECK(ok("http://127.0.0.1:8080"));
    CHECK(ok("http://[::1]:9000/oidc"));
    CHECK(ok("http://localhost/"));
    CHECK_FALSE(ok("http://id.example.com"));
    CHECK_FALSE(ok("http://10.0.0.1"));
    CHECK_FALSE(ok("http://localhost.evil.example"));
    CHECK_FALSE(ok("http://127.0.0.1.evil.example"));
    CHECK_FALSE(ok("http://127.0.0.1@evil.example"));
    CHECK_FALSE(ok("https://id.example.com@evil.example"));
    CHECK_FALSE(ok("ftp://id.example.com"));
    CHECK_FALSE(ok("https://"));
    CHECK_FALSE(ok("https://id.example.com/\r\nX: 1"));
    CHECK(vigil::check_provider_url("http://idp.corp", "step_up.device.issuer").error().message ==
          "step_up.device.issuer http://idp.corp: plain http is allowed only on loopback; use https://");
}
