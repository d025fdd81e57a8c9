// ClamAV clamd: VERSION answers (with a daily database, without one, as a
// real clamd 1.4.6 gave it), and the collector against a fake clamd speaking
// the z-command protocol: alive, dead, wrong answers, a silent VERSION.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>

#include "clamd_collector.h"
#include "clamd_version.h"
#include "local_time.h"
#include "posture_testing.h"

using namespace std::chrono_literals;
using vigil::posture::ClamdCollector;
using vigil::posture::ClamdSettings;
using vigil::posture::parse_clamd_version;
using vigil::posture::SignalStore;

using vigil::testing::posture_sample;
using vigil::testing::signal_in;

namespace {

// Some days after the sample database's build time (Oct 1 08:00), in this
// host's zone (clamd prints local time).
auto days_later(double days) {
    auto built = *vigil::posture::parse_local_time("Tue Oct  1 08:00:00 2024", "%a %b %d %H:%M:%S %Y");
    return built + std::chrono::seconds(static_cast<int64_t>(days * 86400));
}

// A clamd that answers z-commands from the samples.
std::string fake_clamd(const std::string& request) {
    if (request == std::string("zPING\0", 6)) return posture_sample("clamd/pong.txt");
    if (request == std::string("zVERSION\0", 9)) return posture_sample("clamd/version_daily.txt");
    return "UNKNOWN COMMAND";
}

}  // namespace

TEST_CASE("clamd VERSION with a daily database") {
    auto r = parse_clamd_version(posture_sample("clamd/version_daily.txt"), days_later(3.5));
    REQUIRE(r);
    CHECK(r->values == vigil::posture::SignalValues{{"clamd.version", "1.0.7"},
                                                    {"clamd.signatures", "27400"},
                                                    {"clamd.signature_age_days", "3"}});
    CHECK(r->problems.empty());
    CHECK(r->ticking == std::set<std::string>{"clamd.signature_age_days"});
    auto newer = parse_clamd_version(posture_sample("clamd/version_1_4.txt"), days_later(30));
    REQUIRE(newer);
    CHECK(newer->values.at("clamd.version") == "1.4.1");
    CHECK(newer->values.at("clamd.signatures") == "27436");
    CHECK(newer->values.at("clamd.signature_age_days") == "7");  // built Oct 23 10:35, now Oct 31 08:00
    // A newline-terminated answer (nVERSION) reads the same.
    CHECK(parse_clamd_version("ClamAV 1.0.7/27400/Tue Oct  1 08:00:00 2024\n", days_later(1))->values.size() == 3);
}

TEST_CASE("clamd VERSION without a daily database (recorded from clamd 1.4.6)") {
    auto r = parse_clamd_version(posture_sample("clamd/version_no_daily.txt"), days_later(1));
    REQUIRE(r);
    CHECK(r->values == vigil::posture::SignalValues{{"clamd.version", "1.4.6"}});
    CHECK(r->problems.size() == 1);
}

TEST_CASE("clamd VERSION: truncated, garbage, huge") {
    CHECK(!parse_clamd_version("", days_later(1)));
    CHECK(!parse_clamd_version("PONG", days_later(1)));
    CHECK(!parse_clamd_version("ClamAV ", days_later(1)));
    CHECK(!parse_clamd_version(std::string(100000, 'x'), days_later(1)));
    auto cut = parse_clamd_version("ClamAV 1.0.7/274", days_later(1));
    REQUIRE(cut);
    CHECK(cut->values.at("clamd.signatures") == "274");
    CHECK(cut->values.count("clamd.signature_age_days") == 0);
    auto junk = parse_clamd_version("ClamAV 1.0.7/abc/Someday", days_later(1));
    REQUIRE(junk);
    CHECK(junk->values.size() == 1);
    CHECK(junk->problems.size() == 2);
    CHECK(vigil::posture::check_clamd_pong(std::string("PONG\0", 5)));
    CHECK(!vigil::posture::check_clamd_pong("PANG"));
}

TEST_CASE("clamd collector: alive with signatures, then dead, then back") {
    std::string dir = vigil::testing::posture_temp_dir();
    ClamdSettings s;
    s.socket = dir + "/clamd.ctl";
    s.timeout = 300ms;
    REQUIRE(vigil::posture::validate(s));
    SignalStore store;
    ClamdCollector c(s, store);
    {
        auto clamd = vigil::testing::start_fake_unix_server(s.socket, fake_clamd, 0ms, false);
        c.collect_once();
        CHECK(signal_in(store, "clamd.alive") == "true");
        CHECK(signal_in(store, "clamd.version") == "1.0.7");
        CHECK(signal_in(store, "clamd.signatures") == "27400");
        CHECK(std::stoi(signal_in(store, "clamd.signature_age_days")) > 300);
    }
    c.collect_once();  // no socket
    CHECK(signal_in(store, "clamd.alive") == "false");
    CHECK(store.snapshot().size() == 1);
    {
        auto wrong = vigil::testing::start_fake_unix_server(
            s.socket, [](const std::string&) { return std::string("NO\0", 3); }, 0ms, false);
        c.collect_once();
        CHECK(signal_in(store, "clamd.alive") == "false");
    }
    {
        // PING answered, VERSION never: alive, nothing else.
        auto half = vigil::testing::start_fake_unix_server(
            s.socket,
            [](const std::string& req) { return req[1] == 'P' ? std::string("PONG\0", 5) : std::string("ClamAV 1.0"); },
            0ms, true);
        c.collect_once();
        CHECK(signal_in(store, "clamd.alive") == "true");
        CHECK(signal_in(store, "clamd.version") == "<missing>");
        CHECK(store.snapshot().size() == 1);
    }
    {
        auto slow = vigil::testing::start_fake_unix_server(s.socket, fake_clamd, 1000ms, false);
        c.collect_once();
        CHECK(signal_in(store, "clamd.alive") == "false");
    }
    std::filesystem::remove_all(dir);
}

// Against a real clamd when one is offered (CLAMD_TEST_SOCKET=/run/clamav/clamd.ctl).
TEST_CASE("clamd collector against a real clamd, if there is one") {
    const char* sock = std::getenv("CLAMD_TEST_SOCKET");
    if (!sock) return;
    ClamdSettings s;
    s.socket = sock;
    SignalStore store;
    ClamdCollector c(s, store);
    c.collect_once();
    CHECK(signal_in(store, "clamd.alive") == "true");
    CHECK(signal_in(store, "clamd.version") != "<missing>");
}
