#include "protocol.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace wire = vigil::wire;

namespace {

std::vector<uint8_t> frame_with(std::initializer_list<std::pair<wire::Tag, std::string>> fields) {
    std::vector<uint8_t> buf(wire::kMaxFrame);
    wire::Writer w(buf.data(), buf.size());
    for (auto& [t, v] : fields) w.put(t, v);
    buf.resize(w.finish(wire::Kind::Account));
    return buf;
}

}  // namespace

TEST_CASE("protocol round-trips fields through a frame") {
    auto f = frame_with({{wire::Tag::User, "alice"}, {wire::Tag::Service, "sshd"}, {wire::Tag::Rhost, ""}});
    wire::Header h;
    REQUIRE(wire::parse_header(f.data(), h) == wire::HeaderStatus::Ok);
    CHECK(h.kind == static_cast<uint16_t>(wire::Kind::Account));
    REQUIRE(h.length == f.size() - wire::kHeaderSize);
    wire::Reader r(f.data() + wire::kHeaderSize, h.length);
    wire::Tag t{};
    std::string_view v;
    REQUIRE(r.next(t, v));
    CHECK((t == wire::Tag::User && v == "alice"));
    REQUIRE(r.next(t, v));
    CHECK((t == wire::Tag::Service && v == "sshd"));
    REQUIRE(r.next(t, v));
    CHECK((t == wire::Tag::Rhost && v.empty()));
    CHECK_FALSE(r.next(t, v));
    CHECK_FALSE(r.malformed());
}

TEST_CASE("protocol writer refuses a frame that does not fit") {
    std::vector<uint8_t> buf(64);
    wire::Writer w(buf.data(), buf.size());
    w.put(wire::Tag::User, std::string(100, 'x'));
    CHECK(w.failed());
    CHECK(w.finish(wire::Kind::Account) == 0);
    std::vector<uint8_t> big(wire::kMaxFrame * 2);
    wire::Writer w2(big.data(), big.size());
    w2.put(wire::Tag::Command, std::string(0x10000, 'x'));  // over a field's u16 length
    CHECK(w2.finish(wire::Kind::Account) == 0);
}

TEST_CASE("protocol header rejects bad magic, version and oversized lengths") {
    auto f = frame_with({{wire::Tag::User, "a"}});
    wire::Header h;
    auto bad = f;
    bad[0] ^= 0xff;
    CHECK(wire::parse_header(bad.data(), h) == wire::HeaderStatus::BadMagic);
    bad = f;
    bad[5] = 99;
    CHECK(wire::parse_header(bad.data(), h) == wire::HeaderStatus::BadVersion);
    bad = f;
    wire::put_be32(bad.data() + 8, wire::kMaxPayload + 1);
    CHECK(wire::parse_header(bad.data(), h) == wire::HeaderStatus::TooLarge);
}

TEST_CASE("protocol reader flags a truncated field instead of reading past the end") {
    auto f = frame_with({{wire::Tag::User, "alice"}});
    const uint8_t* payload = f.data() + wire::kHeaderSize;
    size_t len = f.size() - wire::kHeaderSize;
    for (size_t cut = 1; cut < len; ++cut) {
        wire::Reader r(payload, cut);
        wire::Tag t{};
        std::string_view v;
        CHECK_FALSE(r.next(t, v));
        CHECK(r.malformed());
    }
}

TEST_CASE("protocol decimal helpers reject non-digits and overflow") {
    uint64_t n = 0;
    CHECK(wire::parse_decimal("12345", UINT64_MAX, n));
    CHECK(n == 12345);
    for (const char* bad : {"", "-1", "12a", "99999999999999999999", " 1"})
        CHECK_FALSE(wire::parse_decimal(bad, UINT64_MAX, n));
    char buf[21];
    CHECK(wire::format_decimal(0, buf) == "0");
    CHECK(wire::format_decimal(18446744073709551615ull, buf) == "18446744073709551615");
}

TEST_CASE("decimal: bounds, leading zeros and typed targets") {
    uint64_t n = 0;
    CHECK(wire::parse_decimal("600000", 600000, n));
    CHECK_FALSE(wire::parse_decimal("600001", 600000, n));
    CHECK(n == 600000);  // a refused number leaves out as it was
    CHECK(wire::parse_decimal("007", 10, n));
    CHECK(n == 7);
    CHECK_FALSE(wire::parse_decimal("007", 10, n, wire::LeadingZeros::Refused));
    CHECK(wire::parse_decimal("0", 10, n, wire::LeadingZeros::Refused));
    CHECK(n == 0);
    int pid = 0;
    CHECK(wire::parse_decimal_as("2147483647", pid));
    CHECK(pid == 2147483647);
    CHECK_FALSE(wire::parse_decimal_as("2147483648", pid));
    CHECK_FALSE(wire::parse_decimal_as("-1", pid));
    uint8_t small = 0;
    CHECK(wire::parse_decimal_as("255", small));
    CHECK_FALSE(wire::parse_decimal_as("256", small));
}
