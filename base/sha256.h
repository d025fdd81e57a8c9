// SHA-256 as lowercase hex, for the audit chain and the policy version.
#ifndef VIGIL_BASE_SHA256_H
#define VIGIL_BASE_SHA256_H

#include <string>
#include <string_view>

namespace vigil {

std::string sha256_hex(std::string_view data);

}  // namespace vigil

#endif
