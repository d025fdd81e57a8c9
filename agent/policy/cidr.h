// IP addresses and CIDR blocks for rules' `from = ["10.0.0.0/8", "2001:db8::/32"]`.
//
//   auto block = parse_cidr("10.0.0.0/8");      // Result<Cidr>
//   auto addr = parse_ip("10.1.2.3");           // std::optional<IpAddress>
//   block->contains(*addr) == true
#ifndef VIGIL_POLICY_CIDR_H
#define VIGIL_POLICY_CIDR_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil {

struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
};

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are read as IPv4.
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
    IpAddress network;
    int prefix = 0;
    bool contains(const IpAddress& addr) const;
};

// A bare address means a single host (/32 or /128). Host bits set below the
// prefix are an error: "10.0.0.1/8" is almost always a typo.
Result<Cidr> parse_cidr(std::string_view text);

}  // namespace vigil

#endif
