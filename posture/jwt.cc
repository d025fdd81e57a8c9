#include "jwt.h"

#include <fmt/format.h>

#include <array>

namespace vigil::posture {
namespace {

constexpr int kBad = -1;

constexpr std::array<int, 256> decode_table() {
    std::array<int, 256> t{};
    for (auto& v : t) v = kBad;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
}

constexpr auto kTable = decode_table();

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Result<nlohmann::json> json_object_part(std::string_view part, const char* what) {
    auto bytes = base64url_decode(part);
    if (!bytes) return err(fmt::format("JWT {}: {}", what, bytes.error().message));
    auto j = nlohmann::json::parse(*bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return err(fmt::format("JWT {} is not a JSON object", what));
    return j;
}

}  // namespace

Result<std::string> base64url_decode(std::string_view in) {
    size_t pad = 0;
    while (!in.empty() && in.back() == '=' && pad < 2) {
        in.remove_suffix(1);
        ++pad;
    }
    // A length of 1 mod 4 cannot come from any byte string.
    if (in.size() % 4 == 1 || (pad && (in.size() + pad) % 4 != 0)) return err("bad base64url length");
    std::string out;
    out.reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        int v = kTable[c];
        if (v == kBad) return err(fmt::format("bad base64url character 0x{:02x}", c));
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

Result<nlohmann::json> decode_jwt_payload(std::string_view token) {
    token = trim(token);
    if (token.empty()) return err("empty token");
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return err("not a JWT: want header.payload.signature");
    }
    auto header = json_object_part(token.substr(0, dot1), "header");
    if (!header) return header.error();
    return json_object_part(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
}

}  // namespace vigil::posture
