#include "sha256.h"

#include <nettle/sha2.h>

namespace vigil {

Sha256Digest sha256(std::string_view data) {
    static_assert(SHA256_DIGEST_SIZE == std::tuple_size_v<Sha256Digest>);
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
    Sha256Digest out;
    sha256_digest(&ctx, out.size(), out.data());
    return out;
}

std::string sha256_hex(std::string_view data) {
    static constexpr char kHex[] = "0123456789abcdef";
    Sha256Digest digest = sha256(data);
    std::string out;
    out.reserve(digest.size() * 2);
    for (uint8_t b : digest) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xf]);
    }
    return out;
}

}  // namespace vigil
