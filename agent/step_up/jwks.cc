#include "jwks.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>
#include <optional>

namespace vigil {

namespace {

using Json = nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr size_t kP256CoordinateBytes = 32;

struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* pkey) { return {pkey, EVP_PKEY_free}; }

// The 6-bit value of a base64url character, or -1.
int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

// A string member of a JWK, or empty.
std::string member(const Json& jwk, const char* name) {
    auto it = jwk.find(name);
    return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Builds a public key of type `name` ("RSA", "EC") from OSSL_PARAMs.
std::shared_ptr<EVP_PKEY> from_params(const char* name, OSSL_PARAM_BLD* bld) {
    ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        return nullptr;
    }
    return share(pkey);
}

BnPtr decode_bn(const Json& jwk, const char* name) {
    auto bytes = base64url_decode(member(jwk, name));
    if (!bytes || bytes->empty()) return nullptr;
    return BnPtr(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()), nullptr));
}

std::shared_ptr<EVP_PKEY> rsa_key(const Json& jwk) {
    BnPtr n = decode_bn(jwk, "n");
    BnPtr e = decode_bn(jwk, "e");
    // A short modulus can be factored; an even or unit exponent is no RSA key.
    if (!n || !e || BN_num_bits(n.get()) < kMinRsaBits || !BN_is_odd(e.get()) || BN_is_one(e.get())) return nullptr;
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
        return nullptr;
    }
    return from_params("RSA", bld.get());
}

// True when pkey is a valid point on its curve (not the point at infinity,
// not off the curve: an invalid-curve point would leak nothing here, since we
// only verify, but it is certainly not the provider's key).
bool public_key_valid(EVP_PKEY* pkey) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    return ctx && EVP_PKEY_public_check(ctx.get()) == 1;
}

std::shared_ptr<EVP_PKEY> p256_key(const Json& jwk) {
    auto x = base64url_decode(member(jwk, "x"));
    auto y = base64url_decode(member(jwk, "y"));
    if (!x || !y || x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) return nullptr;
    std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
    static constexpr char kGroup[] = "prime256v1";
    ParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
        return nullptr;
    }
    auto pkey = from_params("EC", bld.get());
    return pkey && public_key_valid(pkey.get()) ? pkey : nullptr;
}

// The key one JWK describes, or nullopt when it is not an ID token signing
// key we can use.
std::optional<JwksKey> parse_key(const Json& jwk) {
    if (!jwk.is_object()) return std::nullopt;
    std::string use = member(jwk, "use");
    if (!use.empty() && use != "sig") return std::nullopt;
    std::string kty = member(jwk, "kty");
    std::string alg = member(jwk, "alg");
    JwksKey key{.kid = member(jwk, "kid"), .alg = {}, .pkey = nullptr};
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
        key.alg = "RS256";
        key.pkey = rsa_key(jwk);
    } else if (kty == "EC" && member(jwk, "crv") == "P-256" && (alg.empty() || alg == "ES256")) {
        key.alg = "ES256";
        key.pkey = p256_key(jwk);
    }
    if (!key.pkey) return std::nullopt;
    return key;
}

}  // namespace

Result<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return err("base64url: impossible length");
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : text) {
        int v = sextet(c);
        if (v < 0) return err("base64url: character outside the alphabet");
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    if ((buffer & ((1u << bits) - 1)) != 0) return err("base64url: non-zero trailing bits");
    return out;
}

Result<Jwks> Jwks::parse(std::string_view json) {
    if (json.size() > kMaxJwksBytes) return err(fmt::format("JWKS: larger than {} bytes", kMaxJwksBytes));
    Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return err("JWKS: not JSON");
    auto keys = doc.is_object() ? doc.find("keys") : doc.end();
    if (keys == doc.end() || !keys->is_array()) return err("JWKS: no \"keys\" array");
    Jwks out;
    for (const Json& jwk : *keys) {
        if (auto key = parse_key(jwk)) out.keys_.push_back(std::move(*key));
    }
    return out;
}

const JwksKey* Jwks::find(std::string_view kid, std::string_view alg) const {
    const JwksKey* only = nullptr;
    size_t for_alg = 0;
    for (const JwksKey& k : keys_) {
        if (k.alg != alg) continue;
        if (!kid.empty() && k.kid == kid) return &k;
        ++for_alg;
        only = &k;
    }
    return kid.empty() && for_alg == 1 ? only : nullptr;
}

}  // namespace vigil
