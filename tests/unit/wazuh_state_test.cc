// Wazuh: wazuh-agentd.state samples (connected, disconnected, never
// connected), damaged files, and the collector's stale-file guard.
#include "wazuh_state.h"

#include <sys/stat.h>
#include <utime.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "local_time.h"
#include "posture_testing.h"
#include "wazuh_collector.h"

using namespace std::chrono_literals;
using vigil::posture::parse_local_time;
using vigil::posture::parse_wazuh_state;
using vigil::posture::SignalStore;
using vigil::posture::WazuhCollector;
using vigil::posture::WazuhSettings;

using vigil::testing::posture_sample;
using vigil::testing::signal_in;

namespace {

// The samples' last_keepalive plus 12 s, in this host's zone as the agent wrote it.
auto twelve_seconds_later() { return *parse_local_time("2024-10-01 08:00:12", "%Y-%m-%d %H:%M:%S"); }

}  // namespace

TEST_CASE("wazuh state: connected agent") {
    auto r = parse_wazuh_state(posture_sample("wazuh/connected.state"), twelve_seconds_later());
    REQUIRE(r);
    CHECK(r->values == vigil::posture::SignalValues{{"wazuh.status", "connected"},
                                                    {"wazuh.last_keepalive", "2024-10-01 08:00:00"},
                                                    {"wazuh.keepalive_age", "12"}});
    CHECK(r->problems.empty());
    // They change at every read: never a posture change by themselves.
    CHECK(r->ticking == std::set<std::string>{"wazuh.last_keepalive", "wazuh.keepalive_age"});
}

TEST_CASE("wazuh state: disconnected, and never connected") {
    auto off = parse_wazuh_state(posture_sample("wazuh/disconnected.state"), twelve_seconds_later());
    REQUIRE(off);
    CHECK(off->values.at("wazuh.status") == "disconnected");
    auto pending = parse_wazuh_state(posture_sample("wazuh/pending.state"), twelve_seconds_later());
    REQUIRE(pending);
    CHECK(pending->values == vigil::posture::SignalValues{{"wazuh.status", "pending"}});
    CHECK(pending->problems == std::vector<std::string>{"no keepalive sent yet"});
}

TEST_CASE("wazuh state: CRLF, odd lines and unknown keys are fine") {
    auto r = parse_wazuh_state(
        "junk line\r\nstatus='connected'\r\nfuture_key='x'\r\n=''\r\nlast_keepalive='2024-10-01 08:00:00'\r\n",
        twelve_seconds_later());
    REQUIRE(r);
    CHECK(r->values.at("wazuh.status") == "connected");
    CHECK(r->values.at("wazuh.keepalive_age") == "12");
}

TEST_CASE("wazuh state: truncated, garbage, huge, bad times") {
    std::string full = posture_sample("wazuh/connected.state");
    auto cut = full.substr(0, full.find("status='") + 12);  // "status='conn"
    CHECK(parse_wazuh_state(cut, twelve_seconds_later()).error().message == "no status='...' line in the state file");
    CHECK(!parse_wazuh_state("", twelve_seconds_later()));
    CHECK(!parse_wazuh_state("status=''\n", twelve_seconds_later()));
    CHECK(!parse_wazuh_state(std::string(1 << 20, '\''), twelve_seconds_later()));
    CHECK(!parse_wazuh_state("status=connected\n", twelve_seconds_later()));
    auto bad_time = parse_wazuh_state("status='connected'\nlast_keepalive='yesterday'\n", twelve_seconds_later());
    REQUIRE(bad_time);
    CHECK(bad_time->values.count("wazuh.keepalive_age") == 0);
    CHECK(bad_time->values.at("wazuh.last_keepalive") == "yesterday");
    CHECK(bad_time->problems.size() == 1);
    // Timestamps with trailing junk or impossible dates do not parse.
    CHECK(!parse_local_time("2024-10-01 08:00:00 extra", "%Y-%m-%d %H:%M:%S"));
    CHECK(!parse_local_time("2024-13-01 08:00:00", "%Y-%m-%d %H:%M:%S"));
    CHECK(!parse_local_time(std::string(200, '1'), "%Y-%m-%d %H:%M:%S"));
    CHECK(!parse_local_time("-1800-10-01 08:00:00", "%Y-%m-%d %H:%M:%S"));
    CHECK(!parse_local_time("99999-10-01 08:00:00", "%Y-%m-%d %H:%M:%S"));
}

TEST_CASE("wazuh collector: publishes, forgets when the file goes stale or away") {
    std::string dir = vigil::testing::posture_temp_dir();
    WazuhSettings s;
    s.state_file = dir + "/wazuh-agentd.state";
    s.stale_after = 60s;
    REQUIRE(vigil::posture::validate(s));
    SignalStore store;
    WazuhCollector c(s, store);
    std::ofstream(s.state_file) << posture_sample("wazuh/connected.state");
    c.collect_once();
    CHECK(signal_in(store, "wazuh.status") == "connected");
    CHECK(signal_in(store, "wazuh.last_keepalive") == "2024-10-01 08:00:00");
    CHECK(signal_in(store, "wazuh.keepalive_age") != "<missing>");

    // wazuh-agentd died: the file stays, stops being rewritten.
    auto old = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() - 120s);
    utimbuf times{old, old};
    REQUIRE(::utime(s.state_file.c_str(), &times) == 0);
    c.collect_once();
    CHECK(store.snapshot().empty());

    std::ofstream(s.state_file, std::ios::trunc) << posture_sample("wazuh/pending.state");
    c.collect_once();
    CHECK(signal_in(store, "wazuh.status") == "pending");
    CHECK(signal_in(store, "wazuh.last_keepalive") == "<missing>");

    std::filesystem::remove(s.state_file);
    c.collect_once();
    CHECK(store.snapshot().empty());
    std::filesystem::remove_all(dir);
}
