// SHA-256, for the audit chain, the policy version and SSH key fingerprints.
// Nettle's: no global state, nothing to initialise. OpenSSL's EVP API would
// load its providers and configuration at the first hash (+2 MiB resident in
// vigild, and a provider fetch per call), for a hash vigild computes on
// every decision.
//
//   std::string h = sha256_hex(line);   // 64 lowercase hex digits
#ifndef VIGIL_BASE_SHA256_H
#define VIGIL_BASE_SHA256_H

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

}  // namespace vigil

#endif
