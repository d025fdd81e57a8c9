// Keys and tokens for the tests of what verifies JOSE: real OpenSSL RSA and
// P-256 keys made for the run, their public JWKs, and compact JWS signed
// with them.
//
//   auto keys = jwks_of(nlohmann::json::array({rsa_key().jwk()}));
//   std::string tok = signed_token(rsa_key(), {{"alg", "RS256"}, {"kid", "rsa-1"}}, claims);
#ifndef VIGIL_TESTS_UNIT_JOSE_TESTING_H
#define VIGIL_TESTS_UNIT_JOSE_TESTING_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jwks.h"

namespace vigil::testing {

inline std::string b64url(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3f];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
    return out;
}

inline std::string bn_bytes(const BIGNUM* bn, int pad = 0) {
    std::string out(static_cast<size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    if (pad > 0) {
        BN_bn2binpad(bn, p, pad);
    } else {
        BN_bn2bin(bn, p);
    }
    return out;
}

inline std::string bn_param(EVP_PKEY* pkey, const char* name, int pad = 0) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1);
    std::string out = bn_bytes(bn, pad);
    BN_free(bn);
    return out;
}

// A private key made for the test run, and its public JWK.
struct TestKey {
    std::shared_ptr<EVP_PKEY> pkey;
    std::string alg;
    std::string kid;

    nlohmann::json jwk() const {
        if (alg == "RS256") {
            return {{"kty", "RSA"},
                    {"kid", kid},
                    {"use", "sig"},
                    {"alg", alg},
                    {"n", b64url(bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N))},
                    {"e", b64url(bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E))}};
        }
        return {{"kty", "EC"},
                {"kid", kid},
                {"crv", "P-256"},
                {"x", b64url(bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                {"y", b64url(bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
    }

    // A JWS signature over input: PKCS#1 v1.5 for RS256, raw r || s for ES256.
    std::string sign(std::string_view input) const {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) == 1);
        size_t len = 0;
        const auto* in = reinterpret_cast<const unsigned char*>(input.data());
        REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1);
        std::string sig(len, '\0');
        REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1);
        sig.resize(len);
        return alg == "ES256" ? der_to_raw(sig) : sig;
    }

    static std::string der_to_raw(const std::string& der) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
        REQUIRE(s != nullptr);
        std::string raw = bn_bytes(ECDSA_SIG_get0_r(s), 32) + bn_bytes(ECDSA_SIG_get0_s(s), 32);
        ECDSA_SIG_free(s);
        return raw;
    }
};

inline const TestKey& rsa_key() {
    static const TestKey k{std::shared_ptr<EVP_PKEY>(EVP_RSA_gen(2048), EVP_PKEY_free), "RS256", "rsa-1"};
    return k;
}

inline const TestKey& ec_key() {
    static const TestKey k{std::shared_ptr<EVP_PKEY>(EVP_EC_gen("P-256"), EVP_PKEY_free), "ES256", "ec-1"};
    return k;
}

inline vigil::Jwks jwks_of(const nlohmann::json& keys) {
    auto parsed = vigil::Jwks::parse(nlohmann::json{{"keys", keys}}.dump());
    REQUIRE(parsed);
    return *parsed;
}

// header.claims.signature, signed with key.
inline std::string signed_token(const TestKey& key, const nlohmann::json& header, const nlohmann::json& claims) {
    std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
    return input + "." + b64url(key.sign(input));
}

}  // namespace vigil::testing

#endif
