#include "status_report.h"

#include <catch2/catch.hpp>

#include "stale_signals.h"

using namespace std::chrono_literals;

namespace {

vigil::StatusFacts healthy_facts() {
    vigil::StatusFacts f;
    f.version = "0.1.0";
    f.policy_version = "sha256:abc";
    f.pdp_protocol = "cerbos";
    f.circuits = {{"http://127.0.0.1:3592", "closed"}};
    f.health.pdp_last_success = f.now - 5s;
    f.signals.push_back({"edr.state", "ok", "socket", f.now - 10s, 30s});
    f.sessions = 2;
    f.grants = 1;
    return f;
}

}  // namespace

TEST_CASE("status is healthy when the PDP answered last, signals are fresh and the trail writes") {
    auto j = vigil::build_status(healthy_facts());
    CHECK(j["healthy"] == true);
    CHECK(j["problems"].empty());
    CHECK(j["pdp"]["reachable"] == "yes");
    CHECK(j["sessions"]["live"] == 2);
    CHECK(j["grants"]["live"] == 1);
    std::string text = vigil::render_status(j);
    CHECK_THAT(text, Catch::StartsWith("status:    healthy\n") && Catch::Contains("\npolicy:    sha256:abc\n"));
}

TEST_CASE("status is unhealthy when the PDP's last call failed, and says why") {
    auto f = healthy_facts();
    f.health.pdp_last_failure = f.now - 1s;
    f.health.pdp_last_error = "connect: connection refused";
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == false);
    CHECK(j["pdp"]["reachable"] == "no");
    CHECK_THAT(j["problems"][0].get<std::string>(), Catch::Contains("connection refused"));
    CHECK_THAT(vigil::render_status(j), Catch::StartsWith("status:    UNHEALTHY\n  problem: pdp:"));
}

TEST_CASE("status is unhealthy when every PDP endpoint's circuit is open") {
    auto f = healthy_facts();
    f.circuits = {{"https://a", "open"}, {"https://b", "open"}};
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == false);
    CHECK_THAT(j["problems"].dump(), Catch::Contains("circuit is open"));
}

TEST_CASE("status names stale signals, by their own max_age or the default") {
    auto f = healthy_facts();
    f.signals.push_back({"unit.auditd", "active", "systemd", f.now - 90s});  // default 60s
    f.signals.push_back({"unit.sshd", "active", "systemd", f.now - 50s});
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == false);
    CHECK(j["posture"]["stale"] == nlohmann::json::array({"unit.auditd"}));
    CHECK_THAT(vigil::render_status(j), Catch::Contains("posture:   3 signal(s), 1 stale: unit.auditd"));
}

TEST_CASE("status without a PDP does not judge one, and lists recent problems") {
    auto f = healthy_facts();
    f.pdp_protocol = "local";
    f.circuits.clear();
    f.health = {};
    f.health.pdp_last_failure = f.now;  // from an earlier config: not this one's problem
    f.recent_problems.push_back({f.now, vigil::LogLevel::Error, "grants: disk full"});
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == true);
    CHECK(j["pdp"]["configured"] == false);
    CHECK_THAT(vigil::render_status(j), Catch::Contains("error   grants: disk full"));
}

TEST_CASE("status is unhealthy while the trail's last write failed") {
    auto f = healthy_facts();
    f.health.audit_failing = true;
    f.health.audit_last_error = "No space left on device";
    CHECK(vigil::build_status(f)["healthy"] == false);
}

TEST_CASE("stale signals are reported once, when they go stale") {
    vigil::StaleSignals watch;
    auto now = std::chrono::system_clock::now();
    vigil::posture::Snapshot snap = {{"a", "1", "x", now - 61s}, {"b", "1", "x", now}};
    CHECK(watch.update(snap, now, 60s) == std::vector<std::string>{"a"});
    CHECK(watch.update(snap, now, 60s).empty());
    snap[0].observed_at = now;  // refreshed, then stale again: reported again
    CHECK(watch.update(snap, now, 60s).empty());
    snap[0].observed_at = now - 61s;
    CHECK(watch.update(snap, now, 60s) == std::vector<std::string>{"a"});
}

TEST_CASE("status shows the metrics file and why its last write failed, without calling that unhealthy") {
    auto f = healthy_facts();
    f.health.metrics_textfile = "/var/lib/prometheus/node-exporter/vigil.prom";
    f.health.metrics_error = "cannot create a temp file: No such file or directory";
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == true);
    CHECK_THAT(vigil::render_status(j),
               Catch::Contains("metrics:   /var/lib/prometheus/node-exporter/vigil.prom (last write failed: cannot"));
    f.health = {};
    CHECK_THAT(vigil::render_status(vigil::build_status(f)), Catch::Contains("\nmetrics:   off\n"));
}

TEST_CASE("status shows the PDP calls made, the batches among them and the questions waiting, when batching") {
    auto f = healthy_facts();
    CHECK_FALSE(vigil::build_status(f)["pdp"].contains("calls"));
    f.pdp_calls = vigil::StatusFacts::PdpCalls{120, 7, 3};
    auto j = vigil::build_status(f);
    CHECK(j["pdp"]["calls"] == nlohmann::ordered_json({{"made", 120}, {"batches", 7}, {"waiting", 3}}));
    CHECK_THAT(vigil::render_status(j), Catch::Contains("calls: 120 made, 7 of them batches; 3 question(s) waiting"));
}

TEST_CASE("status is unhealthy when sudo approval is the plugin's and sudo.conf does not load it") {
    auto f = healthy_facts();
    f.sudo = {"plugin", "/etc/sudo.conf", false, "", "/etc/sudo.conf has no \"Plugin vigil_approval\" line"};
    auto j = vigil::build_status(f);
    CHECK(j["healthy"] == false);
    REQUIRE(j["problems"].size() == 1);
    CHECK_THAT(j["problems"][0].get<std::string>(),
               Catch::StartsWith("sudo: [sudo] approval = \"plugin\", but /etc/sudo.conf has no") &&
                   Catch::Contains("every sudo is refused at its session"));
    CHECK_THAT(vigil::render_status(j),
               Catch::Contains("\nsudo:      approval plugin; plugin not loaded (/etc/sudo.conf"));

    f.sudo = {"plugin", "/etc/sudo.conf", true, "/usr/libexec/vigil/vigil_sudo.so", ""};
    j = vigil::build_status(f);
    CHECK(j["healthy"] == true);
    CHECK(j["sudo"]["plugin_loaded"] == true);
    CHECK_THAT(
        vigil::render_status(j),
        Catch::Contains("\nsudo:      approval plugin; /etc/sudo.conf loads /usr/libexec/vigil/vigil_sudo.so\n"));

    // With approval by PAM, a missing plugin is only reported.
    f.sudo = {"pam", "/etc/sudo.conf", false, "", "/etc/sudo.conf has no \"Plugin vigil_approval\" line"};
    CHECK(vigil::build_status(f)["healthy"] == true);
}
