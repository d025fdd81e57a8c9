#include "cidr.h"

#include <catch2/catch.hpp>

using vigil::parse_cidr;
using vigil::parse_ip;

TEST_CASE("cidr contains addresses inside its prefix only") {
    auto net = parse_cidr("10.0.0.0/8");
    REQUIRE(net);
    CHECK(net->contains(*parse_ip("10.255.1.2")));
    CHECK_FALSE(net->contains(*parse_ip("11.0.0.1")));
    CHECK_FALSE(net->contains(*parse_ip("::1")));
}

TEST_CASE("cidr handles IPv6 and IPv4-mapped addresses") {
    auto v6 = parse_cidr("2001:db8::/32");
    REQUIRE(v6);
    CHECK(v6->contains(*parse_ip("2001:db8:1::5")));
    CHECK_FALSE(v6->contains(*parse_ip("2001:db9::1")));
    auto v4 = parse_cidr("192.168.0.0/16");
    CHECK(v4->contains(*parse_ip("::ffff:192.168.3.4")));
}

TEST_CASE("cidr without a prefix is a single host") {
    auto host = parse_cidr("127.0.0.1");
    REQUIRE(host);
    CHECK(host->prefix == 32);
    CHECK(host->contains(*parse_ip("127.0.0.1")));
    CHECK_FALSE(host->contains(*parse_ip("127.0.0.2")));
    CHECK(parse_cidr("0.0.0.0/0")->contains(*parse_ip("8.8.8.8")));
}

TEST_CASE("cidr rejects garbage, bad prefixes and host bits") {
    for (const char* bad :
         {"", "10.0.0.0/33", "10.0.0.1/8", "host.example", "10.0.0.0/", "10.0.0.0/x", "::/129", "1.2.3.4/-1"}) {
        INFO(bad);
        CHECK_FALSE(parse_cidr(bad));
    }
    CHECK_FALSE(parse_ip("not-an-ip"));
    CHECK_FALSE(parse_ip(std::string(100, '1')));
}
