// CrowdStrike Falcon: JWT decoding edge cases, the ZTA payload against
// recorded-shape samples (good, partial, expired, truncated, garbage, huge),
// falconctl's rfm-state output, and the collector's freshness and forget
// behaviour against a temp data.zta and a stand-in falconctl.
#include "falcon_zta.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "falcon_collector.h"
#include "falcon_rfm.h"
#include "jwt.h"
#include "posture_testing.h"

using namespace std::chrono_literals;
using vigil::posture::base64url_decode;
using vigil::posture::decode_jwt_payload;
using vigil::posture::FalconCollector;
using vigil::posture::FalconSettings;
using vigil::posture::parse_falcon_zta;
using vigil::posture::parse_rfm_state;
using vigil::posture::SignalStore;
using Clock = std::chrono::system_clock;

using vigil::testing::posture_sample;
using vigil::testing::signal_in;

namespace {

// data.zta's iat and exp (tests/posture/falcon/data.zta).
const Clock::time_point kIssued = Clock::from_time_t(1727769600);
const Clock::time_point kExpires = Clock::from_time_t(1729065600);

std::string b64url(const std::string& s) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
        for (int k = 3; k >= 0; --k) out.push_back(a[(v >> (6 * k)) & 63]);
    }
    if (s.size() - i == 1) {
        uint32_t v = uint8_t(s[i]) << 16;
        out += {a[(v >> 18) & 63], a[(v >> 12) & 63]};
    } else if (s.size() - i == 2) {
        uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
        out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63]};
    }
    return out;
}

std::string jwt(const std::string& payload, const std::string& header = R"({"alg":"ES256","typ":"JWT"})") {
    return b64url(header) + "." + b64url(payload) + ".c2ln";
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    ::chmod(path.c_str(), mode);
}

}  // namespace

TEST_CASE("base64url decodes with or without padding and refuses the rest") {
    CHECK(*base64url_decode("") == "");
    CHECK(*base64url_decode("Zg") == "f");
    CHECK(*base64url_decode("Zg==") == "f");
    CHECK(*base64url_decode("Zm8") == "fo");
    CHECK(*base64url_decode("Zm8=") == "fo");
    CHECK(*base64url_decode("Zm9v") == "foo");
    CHECK(*base64url_decode("-_8") == "\xfb\xff");
    CHECK(!base64url_decode("Z"));    // impossible length
    CHECK(!base64url_decode("Zg="));  // padding that does not square up
    CHECK(!base64url_decode("Zm8=="));
    CHECK(!base64url_decode("+/8"));  // plain base64's alphabet
    CHECK(!base64url_decode("Zm 9v"));
    CHECK(!base64url_decode("Z=g"));
    CHECK(!base64url_decode(std::string("Zm\0v", 4)));
}

TEST_CASE("decode_jwt_payload: three parts, JSON objects, blanks around") {
    auto good = decode_jwt_payload("\n " + jwt(R"({"a":1})") + "\r\n");
    REQUIRE(good);
    CHECK((*good)["a"] == 1);
    CHECK(decode_jwt_payload("").error().message == "empty token");
    CHECK(decode_jwt_payload("abc").error().message == "not a JWT: want header.payload.signature");
    CHECK(decode_jwt_payload("a.b").error().message == "not a JWT: want header.payload.signature");
    CHECK(decode_jwt_payload(jwt("{}") + ".extra").error().message == "not a JWT: want header.payload.signature");
    CHECK(decode_jwt_payload(jwt("[1,2]")).error().message == "JWT payload is not a JSON object");
    CHECK(decode_jwt_payload(jwt("{\"a\":")).error().message == "JWT payload is not a JSON object");
    CHECK(decode_jwt_payload(jwt("{}", "null")).error().message == "JWT header is not a JSON object");
    CHECK(!decode_jwt_payload("e30.e30!.sig"));
    CHECK(decode_jwt_payload("e30.e30."));  // empty signature: decoded, still not verified
    CHECK(!decode_jwt_payload("..."));
}

TEST_CASE("Falcon ZTA sample: scores and age") {
    auto r = parse_falcon_zta(posture_sample("falcon/data.zta"), kIssued + 3600s);
    REQUIRE(r);
    CHECK(r->values == vigil::posture::SignalValues{{"falcon.zta.overall", "90"},
                                                    {"falcon.zta.os", "100"},
                                                    {"falcon.zta.sensor_config", "80"},
                                                    {"falcon.zta.age", "3600"}});
    CHECK(r->problems.empty());
    CHECK(r->ticking == std::set<std::string>{"falcon.zta.age"});
    // Issued a little in the future (clock skew): age 0, not negative.
    CHECK(parse_falcon_zta(posture_sample("falcon/data.zta"), kIssued - 5s)->values.at("falcon.zta.age") == "0");
}

TEST_CASE("Falcon ZTA: an expired token is an error, never stale scores") {
    CHECK(parse_falcon_zta(posture_sample("falcon/data.zta"), kExpires - 1s));
    auto r = parse_falcon_zta(posture_sample("falcon/data.zta"), kExpires);
    REQUIRE(!r);
    CHECK(r.error().message == "data.zta: the assessment expired at 2024-10-16T08:00:00Z");
}

TEST_CASE("Falcon ZTA: no iat/exp, partial and missing assessments") {
    auto no_times = parse_falcon_zta(posture_sample("falcon/data_no_times.zta"), Clock::now());
    REQUIRE(no_times);
    CHECK(no_times->values.count("falcon.zta.age") == 0);
    CHECK(no_times->values.at("falcon.zta.overall") == "90");

    auto partial = parse_falcon_zta(posture_sample("falcon/data_partial.zta"), kIssued);
    REQUIRE(partial);
    CHECK(partial->values.at("falcon.zta.overall") == "45");
    CHECK(partial->values.count("falcon.zta.os") == 0);
    CHECK(partial->problems.size() == 2);

    auto none = parse_falcon_zta(posture_sample("falcon/data_no_assessment.zta"), kIssued);
    CHECK(none.error().message == "data.zta: no assessment object in the token");
}

TEST_CASE("Falcon ZTA: truncated, garbage, huge and odd claims") {
    CHECK(!parse_falcon_zta(posture_sample("falcon/data_truncated.zta"), kIssued));
    CHECK(!parse_falcon_zta("not a token at all", kIssued));
    CHECK(!parse_falcon_zta("", kIssued));
    CHECK(!parse_falcon_zta(std::string(1 << 20, 'A'), kIssued));
    CHECK(!parse_falcon_zta(std::string(1 << 16, '.'), kIssued));
    CHECK(parse_falcon_zta(jwt(R"({"exp":"tomorrow","assessment":{}})"), kIssued).error().message ==
          "data.zta: claim exp is not a time (seconds since 1970)");
    CHECK(!parse_falcon_zta(jwt(R"({"exp":1e300,"assessment":{}})"), kIssued));
    CHECK(!parse_falcon_zta(jwt(R"({"exp":10000000000,"assessment":{}})"), kIssued));  // year 2286
    CHECK(!parse_falcon_zta(jwt(R"({"exp":18446744073709551615,"assessment":{}})"), kIssued));
    CHECK(!parse_falcon_zta(jwt(R"({"exp":-5,"assessment":{}})"), kIssued));
    auto bad_iat = parse_falcon_zta(jwt(R"({"iat":[],"assessment":{"overall":1,"os":2,"sensor_config":3}})"), kIssued);
    REQUIRE(bad_iat);
    CHECK(bad_iat->values.count("falcon.zta.age") == 0);
    CHECK(bad_iat->problems.size() == 1);
    auto nested =
        parse_falcon_zta(jwt(R"({"assessment":{"overall":{"x":1},"os":null,"sensor_config":"80"}})"), kIssued);
    REQUIRE(nested);
    CHECK(nested->values == vigil::posture::SignalValues{{"falcon.zta.sensor_config", "80"}});
}

TEST_CASE("falconctl rfm-state output") {
    CHECK(*parse_rfm_state(posture_sample("falcon/rfm_false.txt")) == "false");
    CHECK(*parse_rfm_state(posture_sample("falcon/rfm_true_reason.txt")) == "true");
    CHECK(*parse_rfm_state(posture_sample("falcon/rfm_combined.txt")) == "false");
    CHECK(*parse_rfm_state("rfm-state=true,") == "true");
    CHECK(parse_rfm_state(posture_sample("falcon/rfm_not_set.txt")).error().message == "rfm-state is not set");
    CHECK(parse_rfm_state("").error().message == "no rfm-state in falconctl's output");
    CHECK(!parse_rfm_state("rfm-state=maybe."));
    CHECK(!parse_rfm_state("rfm-state="));
    CHECK(!parse_rfm_state("rfm-state=truely"));
    CHECK(!parse_rfm_state(std::string(100000, 'x')));
}

TEST_CASE("validate(FalconSettings)") {
    FalconSettings s;
    CHECK(vigil::posture::validate(s));  // falconctl alone
    s.falconctl.clear();
    CHECK(!vigil::posture::validate(s));
    s.zta_file = "data.zta";
    CHECK(!vigil::posture::validate(s));
    s.zta_file = "/x/data.zta";
    CHECK(vigil::posture::validate(s));
    s.timeout = s.interval + 1ms;
    CHECK(!vigil::posture::validate(s));
}

TEST_CASE("Falcon collector: ZTA from the file, RFM from falconctl, each failing apart") {
    std::string dir = vigil::testing::posture_temp_dir();
    FalconSettings s;
    s.zta_file = dir + "/data.zta";
    s.falconctl = dir + "/falconctl";
    s.timeout = 2s;
    SignalStore store;
    FalconCollector c(s, store);

    // A token issued now, valid for a day.
    auto now = Clock::to_time_t(Clock::now());
    std::string fresh = jwt(fmt::format(
        R"({{"iat":{},"exp":{},"assessment":{{"overall":72,"os":90,"sensor_config":55}}}})", now - 120, now + 86400));
    write_file(s.zta_file, fresh + "\n");
    write_file(s.falconctl, "#!/bin/sh\n[ \"$1 $2\" = '-g --rfm-state' ] || exit 3\necho 'rfm-state=false.'\n", 0755);
    c.collect_once();
    CHECK(signal_in(store, "falcon.zta.overall") == "72");
    CHECK(signal_in(store, "falcon.zta.os") == "90");
    CHECK(signal_in(store, "falcon.zta.sensor_config") == "55");
    auto age = std::stoll(signal_in(store, "falcon.zta.age"));
    CHECK(age >= 120);
    CHECK(age < 180);
    CHECK(signal_in(store, "falcon.rfm") == "false");

    SECTION("data.zta replaced by garbage: scores missing, RFM kept") {
        write_file(s.zta_file, "garbage");
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        CHECK(signal_in(store, "falcon.zta.age") == "<missing>");
        CHECK(signal_in(store, "falcon.rfm") == "false");
    }
    SECTION("data.zta expired: scores missing") {
        write_file(s.zta_file,
                   jwt(fmt::format(R"({{"iat":{},"exp":{},"assessment":{{"overall":72}}}})", now - 7200, now - 60)));
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
    }
    SECTION("data.zta removed, or too large") {
        std::filesystem::remove(s.zta_file);
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        write_file(s.zta_file, std::string(100 * 1024, 'A'));
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
        write_file(s.zta_file, fresh);
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "72");
    }
    SECTION("a FIFO in data.zta's place does not hang the collector") {
        std::filesystem::remove(s.zta_file);
        REQUIRE(::mkfifo(s.zta_file.c_str(), 0600) == 0);
        c.collect_once();
        CHECK(signal_in(store, "falcon.zta.overall") == "<missing>");
    }
    SECTION("falconctl goes into RFM, fails, hangs, is removed") {
        write_file(s.falconctl, "#!/bin/sh\necho 'rfm-state=true.'\n", 0755);
        c.collect_once();
        CHECK(signal_in(store, "falcon.rfm") == "true");
        write_file(s.falconctl, "#!/bin/sh\necho 'not root' >&2\nexit 1\n", 0755);
        c.collect_once();
        CHECK(signal_in(store, "falcon.rfm") == "<missing>");
        CHECK(signal_in(store, "falcon.zta.overall") == "72");
        write_file(s.falconctl, "#!/bin/sh\necho 'rfm-state=false.'\n", 0755);
        c.collect_once();
        CHECK(signal_in(store, "falcon.rfm") == "false");
        write_file(s.falconctl, "#!/bin/sh\nsleep 10\n", 0755);
        auto t0 = std::chrono::steady_clock::now();
        c.collect_once();
        CHECK(std::chrono::steady_clock::now() - t0 < 3s);
        CHECK(signal_in(store, "falcon.rfm") == "<missing>");
        std::filesystem::remove(s.falconctl);
        c.collect_once();
        CHECK(signal_in(store, "falcon.rfm") == "<missing>");
        CHECK(signal_in(store, "falcon.zta.overall") == "72");
    }
    std::filesystem::remove_all(dir);
}
