#include "pdp_query.h"

#include <catch2/catch.hpp>

#include "engine.h"

namespace {

// A query as build_pdp_query makes it: root (known to NSS everywhere) runs
// `sudo ls` from 192.0.2.10 on web-01, whose EDR unit is active.
vigil::DecisionRecord sudo_ls() {
    vigil::DecisionRecord r;
    r.request_id = "r1";
    r.at = std::chrono::system_clock::now();
    r.request.user = "root";
    r.request.service = "sudo";
    r.request.rhost = "192.0.2.10";
    r.request.tty = "/dev/pts/1";
    r.request.ruser = "alice";
    r.request.command = {"/usr/bin/ls"};
    r.identity = vigil::lookup_identity("root");
    r.signals = {{"systemd.unit.falcon-sensor.service", "active", "systemd", r.at, {}}};
    return r;
}

vigil::Config config() {
    auto c = vigil::parse_config(R"([host]
id = "web-01"
labels = { sensitivity = "low" }
)",
                                 "test.toml");
    REQUIRE(c);
    return *c;
}

std::string key_of(const vigil::DecisionRecord& r, const vigil::Config& c = config()) {
    return vigil::question_key(vigil::build_pdp_query(r, c));
}

// Changes one fact of base (change) and checks that the key changes too.
template <typename Change>
void key_differs(const vigil::DecisionRecord& base, const char* what, Change change) {
    auto r = base;
    change(r);
    INFO(what);
    CHECK(key_of(r) != key_of(base));
}

}  // namespace

TEST_CASE("question_key leaves out only the request's time and id") {
    auto a = sudo_ls();
    auto b = sudo_ls();
    b.request_id = "r2";
    b.at = a.at + std::chrono::seconds(90);
    for (auto& s : b.signals) s.observed_at = b.at;  // when a signal was read is not what it says
    CHECK(key_of(a) == key_of(b));
    CHECK(key_of(a).size() == 64);  // a SHA-256, however large the query
}

TEST_CASE("question_key tells apart requests that differ in any fact the PDP is told") {
    const auto base = sudo_ls();
    auto differs = [&](const char* what, auto change) { key_differs(base, what, change); };
    differs("command", [](auto& r) { r.request.command = {"/bin/bash"}; });
    differs("argv", [](auto& r) { r.request.command = {"/usr/bin/ls", "/root"}; });
    differs("service", [](auto& r) { r.request.service = "sudo-i"; });
    differs("target user", [](auto& r) { r.request.user = "daemon", r.identity = vigil::lookup_identity("daemon"); });
    differs("groups", [](auto& r) { r.identity->groups.push_back("ops"); });
    differs("invoking user", [](auto& r) { r.request.ruser = "mallory"; });
    differs("source address", [](auto& r) { r.request.rhost = "192.0.2.11"; });
    differs("source host name", [](auto& r) { r.request.rhost = "jump.example"; });
    differs("tty", [](auto& r) { r.request.tty = "/dev/pts/2"; });
    differs("grant group", [](auto& r) { r.request.grant_group = "vigil-sudo"; });
    differs("grant account", [](auto& r) { r.request.grant_account = "ephemeral"; });
    differs("second factor", [](auto& r) { r.request.mfa = vigil::StepUpProof{"totp", r.at, "", {}, ""}; });
    differs("purpose", [](auto& r) { r.request.purpose = "INC-1"; });
    differs("posture", [](auto& r) { r.signals[0].value = "inactive"; });
    differs("ssh certificate", [](auto& r) { r.ssh_certificate = {{"key_id", "ci-deploy"}, {"serial", 7}}; });
}

TEST_CASE("question_key tells apart groups asked for in two grants") {
    auto a = sudo_ls();
    a.request.service = "elevate";
    a.request.command.clear();
    a.request.grant_group = "db-admins";
    a.request.grant_length = std::chrono::seconds(900);
    auto b = a;
    b.request.grant_group = "vigil-sudo";
    CHECK(key_of(a) != key_of(b));
    b = a;
    b.request.grant_length = std::chrono::seconds(3600);
    CHECK(key_of(a) != key_of(b));
}

TEST_CASE("question_key covers facts added to the query later, wherever they go") {
    auto q = vigil::build_pdp_query(sudo_ls(), config());
    const std::string k = vigil::question_key(q);
    auto with = [&](auto change) {
        auto copy = q;
        change(copy);
        return vigil::question_key(copy);
    };
    CHECK(with([](auto& c) { c.subject["properties"]["trusted_ca"] = true; }) != k);
    CHECK(with([](auto& c) { c.action["properties"]["pam_user"] = "postgres"; }) != k);
    CHECK(with([](auto& c) { c.action["properties"]["argv_truncated"] = true; }) != k);
    CHECK(with([](auto& c) { c.resource["properties"]["labels"]["environment"] = "prod"; }) != k);
    CHECK(with([](auto& c) { c.context["policy"]["local_version"] = "sha256:other"; }) != k);
    CHECK(with([](auto& c) { c.context["time"] = "2030-01-01T00:00:00Z"; }) == k);
}

TEST_CASE("question_key does not depend on the order facts were added in") {
    vigil::PdpQuery a;
    a.subject = {{"type", "user"}, {"id", "alice"}};
    a.action = {{"name", "ssh"}};
    a.resource = {{"type", "host"}, {"id", "web-01"}};
    a.context = {{"source_ip", "192.0.2.10"}, {"purpose", "x"}};
    vigil::PdpQuery b = a;
    b.context = {{"purpose", "x"}, {"source_ip", "192.0.2.10"}};
    CHECK(vigil::question_key(a) == vigil::question_key(b));
}

TEST_CASE("question_key of a query without a context does not throw") {
    vigil::PdpQuery q;
    q.subject = {{"type", "user"}, {"id", "alice"}};
    CHECK(vigil::question_key(q).size() == 64);
}

TEST_CASE("a signal older than its max_age is not sent to the PDP: it counts as missing") {
    auto r = sudo_ls();
    auto c = config();  // [posture] max_age: 60 s
    auto posture = [&] { return vigil::build_pdp_query(r, c).resource["properties"]["posture"]; };
    CHECK(posture().contains("systemd.unit.falcon-sensor.service"));
    r.signals[0].observed_at = r.at - std::chrono::seconds(61);
    CHECK_FALSE(posture().contains("systemd.unit.falcon-sensor.service"));
    // The collector's own max_age wins over [posture]'s.
    r.signals[0].max_age = std::chrono::seconds(120);
    CHECK(posture().contains("systemd.unit.falcon-sensor.service"));
}

namespace {

// sudo's approval plugin asks about `systemctl restart nginx` as root.
vigil::DecisionRecord plugin_command() {
    auto r = sudo_ls();
    r.request.phase = vigil::Phase::Command;
    r.request.command = {"systemctl", "restart", "nginx"};
    vigil::SudoCommand c;
    c.path = "/usr/bin/systemctl";
    c.resolved = "/usr/bin/systemctl";
    c.runas_user = "root";
    c.runas_uid = 0;
    c.cwd = "/home/alice";
    r.request.sudo = c;
    return r;
}

}  // namespace

TEST_CASE("a command the plugin asks about is the resource, with the host it runs on") {
    auto q = vigil::build_pdp_query(plugin_command(), config());
    CHECK(q.resource["type"] == "command");
    CHECK(q.resource["id"] == "/usr/bin/systemctl");
    const auto& p = q.resource["properties"];
    CHECK(p["argv"] == nlohmann::json({"systemctl", "restart", "nginx"}));
    CHECK(p["path_resolved"] == "/usr/bin/systemctl");
    CHECK(p["runas_user"] == "root");
    CHECK(p["runas_uid"] == 0);
    CHECK(p["cwd"] == "/home/alice");
    CHECK_FALSE(p.contains("runas_group"));
    CHECK_FALSE(p.contains("sudoedit_files"));
    CHECK(p["host"]["id"] == "web-01");
    CHECK(p["host"]["labels"]["sensitivity"] == "low");
    CHECK(p["host"]["posture"]["systemd.unit.falcon-sensor.service"] == "active");
    // The action says sudo, and that the argv is the plugin's; the command
    // itself is not repeated there.
    CHECK(q.action["name"] == "sudo");
    CHECK(q.action["properties"]["argv_source"] == "plugin");
    CHECK_FALSE(q.action["properties"].contains("argv"));
    CHECK_FALSE(q.action["properties"].contains("command"));
}

TEST_CASE("sudoedit's resource is the files it edits, never the editor") {
    auto r = plugin_command();
    r.request.command = {"/usr/bin/vi", "--", "hosts", "/etc/hostname"};
    r.request.sudo->path = "/usr/bin/vi";
    r.request.sudo->cwd = "/etc";
    r.request.sudo->sudoedit_files = 2;
    auto q = vigil::build_pdp_query(r, config());
    CHECK(q.resource["id"] == "sudoedit");
    CHECK(q.resource["properties"]["sudoedit_files"] == nlohmann::json({"/etc/hosts", "/etc/hostname"}));
    CHECK(q.resource["properties"]["editor"] == "/usr/bin/vi");
}

TEST_CASE("sudo's command line from /proc stays in the action, marked best effort, on the host") {
    auto q = vigil::build_pdp_query(sudo_ls(), config());
    CHECK(q.resource["type"] == "host");
    CHECK(q.action["properties"]["argv"] == nlohmann::json({"/usr/bin/ls"}));
    CHECK(q.action["properties"]["argv_source"] == "cmdline");
}

TEST_CASE("question_key tells apart commands by each fact of the command resource") {
    const auto base = plugin_command();
    auto differs = [&](const char* what, auto change) { key_differs(base, what, change); };
    differs("argument", [](auto& r) { r.request.command[2] = "sshd"; });
    differs("path", [](auto& r) { r.request.sudo->path = "/tmp/systemctl"; });
    differs("run-as user", [](auto& r) { r.request.sudo->runas_user = "deploy", r.request.sudo->runas_uid = 1500; });
    differs("run-as group", [](auto& r) { r.request.sudo->runas_group = "adm"; });
    differs("cwd", [](auto& r) { r.request.sudo->cwd = "/tmp"; });
    differs("posture", [](auto& r) { r.signals[0].value = "inactive"; });
}
