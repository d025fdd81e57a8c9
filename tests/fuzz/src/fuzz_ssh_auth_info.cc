// SSH_AUTH_INFO_0 as sshd exposes it (ExposeAuthInfo): one line per accepted
// method, with the key or certificate in base64. The certificate blob is
// chosen by the client; sshd has verified its signature, not its shape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ssh_auth_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto info = vigil::parse_ssh_auth_info(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!info) return 0;
    // What reaches the PDP and the trail must be valid JSON text.
    (void)vigil::to_json(*info).dump();
    return 0;
}
