#include "jws.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "es256_der.h"

namespace vigil {
namespace {

using Json = nlohmann::json;

constexpr size_t kShownMax = 64;

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// "RS256", "RS256 and ES256", "RS256, PS256 and ES256"
std::string listed(const std::vector<std::string_view>& algs) {
    std::string out;
    for (size_t i = 0; i < algs.size(); ++i) {
        out += i == 0 ? "" : i + 1 == algs.size() ? " and " : ", ";
        out += algs[i];
    }
    return out;
}

Result<Json> decode_object(std::string_view part, const char* what, const JwsRules& rules) {
    auto bytes = base64url_decode(part);
    if (!bytes) return err(fmt::format("{}: {} is not base64url", rules.what, what));
    Json j = Json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return err(fmt::format("{}: {} is not a JSON object", rules.what, what));
    return j;
}

Status check_header(const Json& h, const JwsRules& rules) {
    auto alg = h.find("alg");
    if (alg == h.end() || !alg->is_string()) return err(fmt::format("{}: header has no alg", rules.what));
    std::string name = alg->get<std::string>();
    if (name == "none") return err(fmt::format("{}: alg none is not accepted (the token is unsigned)", rules.what));
    if (std::find(rules.algs.begin(), rules.algs.end(), name) == rules.algs.end()) {
        return err(
            fmt::format("{}: alg {} is not accepted (only {})", rules.what, shown_claim(name), listed(rules.algs)));
    }
    if (h.contains("crit")) {
        return err(fmt::format("{}: header lists crit extensions, which vigil does not implement", rules.what));
    }
    if (h.contains("kid") && !h["kid"].is_string()) return err(fmt::format("{}: kid is not a string", rules.what));
    return Ok{};
}

bool signature_verifies(const JwksKey& key, std::string_view signing_input, std::string_view signature) {
    std::string der;
    if (key.alg == "ES256") {
        auto converted = posture::es256_to_der(signature);
        if (!converted) return false;
        der = std::move(*converted);
        signature = der;
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

}  // namespace

std::string shown_claim(std::string_view text) {
    std::string out;
    for (unsigned char c : text.substr(0, kShownMax)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    if (text.size() > kShownMax) out += "...";
    return out;
}

Result<Jws> parse_jws(std::string_view token, const JwsRules& rules) {
    if (token.size() > rules.max_bytes)
        return err(fmt::format("{}: larger than {} bytes", rules.what, rules.max_bytes));
    size_t a = token.find('.');
    size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
    if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
        return err(fmt::format("{}: not three base64url parts separated by dots", rules.what));
    }
    auto header = decode_object(token.substr(0, a), "header", rules);
    if (!header) return header.error();
    if (Status ok = check_header(*header, rules); !ok) return ok.error();
    Jws jws;
    jws.alg = (*header)["alg"].get<std::string>();
    if (auto kid = header->find("kid"); kid != header->end()) jws.kid = kid->get<std::string>();
    jws.header = std::move(*header);
    jws.signing_input = std::string(token.substr(0, b));
    jws.payload = std::string(token.substr(a + 1, b - a - 1));
    jws.signature = std::string(token.substr(b + 1));
    return jws;
}

Status verify_jws_signature(const Jws& jws, const Jwks& keys, const JwsRules& rules) {
    const JwksKey* key = keys.find(jws.kid, jws.alg);
    if (key == nullptr) {
        return err(fmt::format("{}: no {} key with kid \"{}\" in the provider's JWKS", rules.what, jws.alg,
                               shown_claim(jws.kid)));
    }
    auto signature = base64url_decode(jws.signature);
    if (!signature || !signature_verifies(*key, jws.signing_input, *signature)) {
        return err(fmt::format("{}: signature does not verify", rules.what));
    }
    return Ok{};
}

Result<nlohmann::json> jws_payload(const Jws& jws, const JwsRules& rules) {
    return decode_object(jws.payload, "payload", rules);
}

}  // namespace vigil
