// Falcon's data.zta signature: JwsPublicKey against tokens signed here with
// key pairs made here (ES256 on P-256, RS256 on RSA), every way a token can
// differ from what was signed, and the Falcon collector with and without
// [posture.falcon] public_key.
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "falcon_collector.h"
#include "jws_signature.h"
#include "log.h"
#include "posture_testing.h"

using namespace std::chrono_literals;
using vigil::posture::FalconCollector;
using vigil::posture::FalconSettings;
using vigil::posture::JwsPublicKey;
using vigil::posture::SignalStore;
using vigil::testing::signal_in;
using Clock = std::chrono::system_clock;

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey ec_key(const char* curve) { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)); }
Pkey rsa_key(size_t bits) { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits)); }

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
}

std::string public_pem(EVP_PKEY* k) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, k) == 1);
    return bio_text(bio);
}

// A self-signed certificate for k, as a vendor might publish its key.
std::string certificate_pem(EVP_PKEY* k) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("zta"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    REQUIRE(X509_sign(x, k, EVP_sha256()) > 0);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(bio, x) == 1);
    X509_free(x);
    return bio_text(bio);
}

std::string b64url(const std::string& s) {
    std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
    out.resize(static_cast<size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

// The signature JWS wants: PKCS#1 v1.5 bytes for RSA, r || s for ECDSA.
std::string sign(EVP_PKEY* k, const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k) == 1);
    REQUIRE(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) ==
            1);
    std::string sig(len, '\0');
    REQUIRE(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC) return sig;
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
    REQUIRE(es != nullptr);
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
}

std::string header(const char* alg) { return fmt::format(R"({{"alg":"{}","typ":"JWT","kid":"zta-test"}})", alg); }

std::string token(EVP_PKEY* k, const std::string& payload, const std::string& head) {
    std::string input = b64url(head) + "." + b64url(payload);
    return input + "." + b64url(sign(k, input));
}

// A ZTA-shaped payload, issued a minute ago, valid for a day.
std::string zta_payload(int overall) {
    auto now = Clock::to_time_t(Clock::now());
    return fmt::format(R"({{"iss":"CrowdStrike","sub":"4e2a1c9d","iat":{},"exp":{},)"
                       R"("assessment":{{"overall":{},"os":100,"sensor_config":80,"version":"3.6.1"}}}})",
                       now - 60, now + 86400, overall);
}

// The same token with its payload swapped for another, signature kept.
std::string with_payload(const std::string& tok, const std::string& payload) {
    size_t a = tok.find('.');
    size_t b = tok.find('.', a + 1);
    return tok.substr(0, a + 1) + b64url(payload) + tok.substr(b);
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

bool logged(const std::string& needle) {
    auto recent = vigil::recent_problems();
    return std::any_of(recent.begin(), recent.end(),
                       [&](const auto& p) { return p.text.find(needle) != std::string::npos; });
}

}  // namespace

TEST_CASE("ES256: a token signed with the key verifies; any change to it does not") {
    Pkey k = ec_key("P-256");
    auto key = JwsPublicKey::from_pem(public_pem(k.get()));
    REQUIRE(key);
    CHECK(key->alg() == "ES256");
    std::string good = token(k.get(), zta_payload(40), header("ES256"));
    CHECK(key->verify(good));
    CHECK(key->verify(good + "\n"));

    // The score raised, the signature kept.
    CHECK(key->verify(with_payload(good, zta_payload(95))).error().message ==
          "the ES256 signature does not verify with the public key");
    // Signed by someone else's key.
    Pkey other = ec_key("P-256");
    CHECK_FALSE(key->verify(token(other.get(), zta_payload(40), header("ES256"))));
    // The header may not pick another algorithm, or none.
    for (const char* alg : {"none", "HS256", "RS256", "ES384"}) {
        auto r = key->verify(token(k.get(), zta_payload(40), header(alg)));
        REQUIRE_FALSE(r);
        CHECK(r.error().message == fmt::format("signed with alg \"{}\", but the public key verifies only ES256", alg));
    }
    CHECK(key->verify(token(k.get(), zta_payload(40), R"({"alg":"ES256","crit":["exp"]})")).error().message ==
          "the JWS header lists crit extensions, which vigil does not implement");
    CHECK(key->verify(token(k.get(), zta_payload(40), R"({"typ":"JWT"})")).error().message ==
          "the JWS header has no alg");
    CHECK(key->verify(good.substr(0, good.rfind('.')) + ".c2ln").error().message ==
          "the ES256 signature is not 64 bytes");
    CHECK(key->verify(good.substr(0, good.rfind('.'))).error().message ==
          "not a signed JWT: want header.payload.signature");
    CHECK_FALSE(key->verify(""));
    CHECK_FALSE(key->verify(good + ".x"));
}

TEST_CASE("RS256 with an RSA key of 2048 bits or more; other keys are refused when loaded") {
    Pkey k = rsa_key(2048);
    auto key = JwsPublicKey::from_pem(public_pem(k.get()));
    REQUIRE(key);
    CHECK(key->alg() == "RS256");
    std::string good = token(k.get(), zta_payload(40), header("RS256"));
    CHECK(key->verify(good));
    CHECK(key->verify(with_payload(good, zta_payload(95))).error().message ==
          "the RS256 signature does not verify with the public key");
    CHECK_FALSE(key->verify(token(k.get(), zta_payload(40), header("ES256"))));

    // A certificate holding the key serves as well (pinned as is).
    auto from_cert = JwsPublicKey::from_pem(certificate_pem(k.get()));
    REQUIRE(from_cert);
    CHECK(from_cert->verify(good));

    Pkey short_rsa = rsa_key(1024);
    CHECK(JwsPublicKey::from_pem(public_pem(short_rsa.get())).error().message ==
          "the RSA key is shorter than 2048 bits");
    Pkey p384 = ec_key("P-384");
    CHECK(JwsPublicKey::from_pem(public_pem(p384.get())).error().message == "the EC key is not on curve P-256");
    CHECK(JwsPublicKey::from_pem("garbage").error().message == "no PEM public key or certificate in it");
    CHECK_FALSE(JwsPublicKey::from_pem(""));
}

TEST_CASE("Falcon collector with public_key: signed scores are verified, tampered ones are refused and logged") {
    std::string dir = vigil::testing::posture_temp_dir();
    Pkey k = ec_key("P-256");
    FalconSettings s;
    s.zta_file = dir + "/data.zta";
    s.public_key = dir + "/zta.pem";
    s.falconctl.clear();
    write_file(s.public_key, public_pem(k.get()));
    std::string good = token(k.get(), zta_payload(40), header("ES256"));
    write_file(s.zta_file, good + "\n");
    SignalStore store;
    FalconCollector c(s, store);
    c.collect_once();
    CHECK(signal_in(store, "falcon.zta.overall") == "40");
    CHECK(signal_in(store, "falcon.zta.verified") == "true");

    // Someone who can write data.zta raises the score without the key.
    write_file(s.zta_file, with_payload(good, zta_payload(95)));
    c.collect_once();
    CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
    CHECK(signal_in(store, "falcon.zta.verified") == "<missing>");
    CHECK(logged("data.zta refused: the ES256 signature does not verify with the public key"));

    // Signed again: back, verified.
    write_file(s.zta_file, good);
    c.collect_once();
    CHECK(signal_in(store, "falcon.zta.overall") == "40");

    SECTION("a public_key anyone can write is no key: the scores go missing") {
        write_file(s.public_key, public_pem(k.get()), 0666);
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        CHECK(logged(fmt::format("public_key: {}: refused: it is writable by others (mode 0666)", s.public_key)));
    }
    SECTION("a public_key that is gone, or not a key: the scores go missing") {
        std::filesystem::remove(s.public_key);
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        write_file(s.public_key, "not a key");
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        CHECK(logged(fmt::format("public_key {}: no PEM public key or certificate in it", s.public_key)));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("Falcon collector without public_key: the scores are published, marked falcon.zta.verified false") {
    std::string dir = vigil::testing::posture_temp_dir();
    Pkey k = ec_key("P-256");
    FalconSettings s;
    s.zta_file = dir + "/data.zta";
    s.falconctl.clear();
    write_file(s.zta_file, token(k.get(), zta_payload(40), header("ES256")));
    SignalStore store;
    FalconCollector c(s, store);
    c.collect_once();
    CHECK(signal_in(store, "falcon.zta.overall") == "40");
    CHECK(signal_in(store, "falcon.zta.verified") == "false");
    std::filesystem::remove_all(dir);
}

TEST_CASE("validate(FalconSettings): public_key absolute, owner a user name or uid") {
    FalconSettings s;
    s.zta_file = "/x/data.zta";
    s.public_key = "zta.pem";
    CHECK_FALSE(vigil::posture::validate(s));
    s.public_key = "/etc/vigil/crowdstrike-zta.pem";
    CHECK(vigil::posture::validate(s));
    s.owner = "bad name";
    CHECK_FALSE(vigil::posture::validate(s));
    s.owner = "112";
    CHECK(vigil::posture::validate(s));
}
