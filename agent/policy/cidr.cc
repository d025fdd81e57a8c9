#include "cidr.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "decimal.h"

namespace vigil {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int address_bits(const IpAddress& a) { return a.family == AF_INET ? 32 : 128; }

bool bit_at(const IpAddress& a, int i) { return (a.bytes[i / 8] >> (7 - i % 8)) & 1; }

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    a.family = AF_INET6;
    if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.bytes.begin())) {
        std::array<uint8_t, 16> v4{};
        std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.begin());
        a.bytes = v4;
        a.family = AF_INET;
    }
    return a;
}

bool Cidr::contains(const IpAddress& addr) const {
    if (addr.family != network.family) return false;
    for (int i = 0; i < prefix; ++i) {
        if (bit_at(addr, i) != bit_at(network, i)) return false;
    }
    return true;
}

Result<Cidr> parse_cidr(std::string_view text) {
    size_t slash = text.find('/');
    auto addr = parse_ip(text.substr(0, slash));
    if (!addr) return err(fmt::format("\"{}\" is not an IP address or CIDR block", text));
    Cidr c{*addr, address_bits(*addr)};
    if (slash != std::string_view::npos) {
        uint64_t p = 0;
        if (!wire::parse_decimal(text.substr(slash + 1), uint64_t(address_bits(*addr)), p)) {
            return err(fmt::format("\"{}\": prefix length must be 0..{}", text, address_bits(*addr)));
        }
        c.prefix = static_cast<int>(p);
    }
    for (int i = c.prefix; i < address_bits(*addr); ++i) {
        if (bit_at(c.network, i)) {
            return err(fmt::format("\"{}\": address has bits set beyond the /{} prefix", text, c.prefix));
        }
    }
    return c;
}

}  // namespace vigil
