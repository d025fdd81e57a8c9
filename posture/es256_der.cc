#include "es256_der.h"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include <memory>

namespace vigil::posture {
namespace {

struct EcdsaSigFree {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

}  // namespace

Result<std::string> es256_to_der(std::string_view raw) {
    if (raw.size() != kEs256SignatureBytes) return err("the ES256 signature is not 64 bytes");
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
    BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return err("out of memory");
    }
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return err("cannot encode the ES256 signature");
    std::string der(static_cast<size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(sig.get(), &out);
    return der;
}

}  // namespace vigil::posture
