#include "jws_signature.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "es256_der.h"
#include "jwt.h"

namespace vigil::posture {
namespace {

constexpr int kMinRsaBits = 2048;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(std::string_view pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// A bare public key, or the one in a certificate (pinned as is: no chain).
EVP_PKEY* read_key(std::string_view pem) {
    BioPtr bio = memory_bio(pem);
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!key) {
        bio = memory_bio(pem);
        std::unique_ptr<X509, X509Free> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
        if (cert) key = X509_get_pubkey(cert.get());
    }
    // A failed attempt leaves entries on this thread's OpenSSL error queue,
    // where libcurl would later find them.
    ERR_clear_error();
    return key;
}

Result<std::string> alg_for(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(key) < kMinRsaBits) return err("the RSA key is shorter than 2048 bits");
        return std::string("RS256");
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = {};
        size_t len = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
            std::string_view(group, len) == "prime256v1") {
            return std::string("ES256");
        }
        return err("the EC key is not on curve P-256");
    }
    return err("not an EC P-256 or RSA key");
}

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Status check_header(std::string_view part, const std::string& want_alg) {
    auto bytes = base64url_decode(part);
    if (!bytes) return err("the JWS header is not base64url");
    auto h = nlohmann::json::parse(*bytes, nullptr, false);
    if (h.is_discarded() || !h.is_object()) return err("the JWS header is not a JSON object");
    auto alg = h.find("alg");
    if (alg == h.end() || !alg->is_string()) return err("the JWS header has no alg");
    if (*alg != want_alg) {
        return err(fmt::format("signed with alg {}, but the public key verifies only {}", alg->dump().substr(0, 40),
                               want_alg));
    }
    // RFC 7515 §4.1.11: a recipient must refuse extensions it does not know.
    if (h.contains("crit")) return err("the JWS header lists crit extensions, which vigil does not implement");
    return Ok{};
}

}  // namespace

Result<JwsPublicKey> JwsPublicKey::from_pem(std::string_view pem) {
    std::shared_ptr<EVP_PKEY> key(read_key(pem), EVP_PKEY_free);
    if (!key) return err("no PEM public key or certificate in it");
    auto alg = alg_for(key.get());
    if (!alg) return alg.error();
    return JwsPublicKey(std::move(key), std::move(*alg));
}

Status JwsPublicKey::verify(std::string_view token) const {
    token = trim(token);
    size_t a = token.find('.');
    size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
    if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
        return err("not a signed JWT: want header.payload.signature");
    }
    if (auto ok = check_header(token.substr(0, a), alg_); !ok) return ok;
    auto signature = base64url_decode(token.substr(b + 1));
    if (!signature) return err("the signature is not base64url");
    std::string der;
    std::string_view sig = *signature;
    if (alg_ == "ES256") {
        auto converted = es256_to_der(sig);
        if (!converted) return converted.error();
        der = std::move(*converted);
        sig = der;
    }
    std::string_view signed_part = token.substr(0, b);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    bool good = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
                EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                 reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
    ERR_clear_error();
    if (!good) return err(fmt::format("the {} signature does not verify with the public key", alg_));
    return Ok{};
}

}  // namespace vigil::posture
