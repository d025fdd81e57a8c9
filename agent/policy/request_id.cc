#include "request_id.h"

#include <stdexcept>

#include "random_bytes.h"

namespace vigil {

std::string new_request_id() {
    unsigned char bytes[16];
    if (!random_bytes(bytes, sizeof bytes)) throw std::runtime_error("getrandom failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xf]);
    }
    return out;
}

}  // namespace vigil
