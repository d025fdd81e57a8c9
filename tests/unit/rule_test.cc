#include "rule.h"

#include <catch2/catch.hpp>

#include "local_policy.h"

namespace {

vigil::Request request(std::string user, std::string service, std::string rhost = "") {
    vigil::Request q;
    q.user = std::move(user);
    q.service = std::move(service);
    q.rhost = std::move(rhost);
    return q;
}

vigil::Identity member_of(std::vector<std::string> groups) {
    vigil::Identity id;
    std::sort(groups.begin(), groups.end());
    id.groups = std::move(groups);
    return id;
}

vigil::Rule rule(std::string name, vigil::Effect effect) {
    vigil::Rule r;
    r.name = std::move(name);
    r.effect = effect;
    return r;
}

}  // namespace

using vigil::Effect;
using vigil::Outcome;

TEST_CASE("rule with no criteria matches every request") {
    CHECK(vigil::rule_matches(rule("any", Effect::Allow), request("a", "sshd"), member_of({})));
}

TEST_CASE("rule criteria are ANDed and each list is ORed") {
    auto r = rule("ops ssh", Effect::Allow);
    r.services = {"sshd", "login"};
    r.groups = {"ops", "sre"};
    CHECK(vigil::rule_matches(r, request("a", "login"), member_of({"sre"})));
    CHECK_FALSE(vigil::rule_matches(r, request("a", "sudo"), member_of({"ops"})));
    CHECK_FALSE(vigil::rule_matches(r, request("a", "sshd"), member_of({"dev"})));
}

TEST_CASE("rule users match the exact name") {
    auto r = rule("m", Effect::Deny);
    r.users = {"mallory"};
    CHECK(vigil::rule_matches(r, request("mallory", "sudo"), member_of({})));
    CHECK_FALSE(vigil::rule_matches(r, request("mallory2", "sudo"), member_of({})));
}

TEST_CASE("rule from needs an address inside one of its blocks") {
    auto r = rule("lan", Effect::Allow);
    r.from = {*vigil::parse_cidr("10.0.0.0/8")};
    CHECK(vigil::rule_matches(r, request("a", "sshd", "10.2.3.4"), member_of({})));
    CHECK_FALSE(vigil::rule_matches(r, request("a", "sshd", "192.0.2.1"), member_of({})));
    CHECK_FALSE(vigil::rule_matches(r, request("a", "sudo"), member_of({})));
}

TEST_CASE("rule from treats a hostname rhost as matching deny rules only") {
    auto allow = rule("lan", Effect::Allow);
    allow.from = {*vigil::parse_cidr("10.0.0.0/8")};
    auto deny = rule("wan", Effect::Deny);
    deny.from = {*vigil::parse_cidr("0.0.0.0/0")};
    CHECK_FALSE(vigil::rule_matches(allow, request("a", "sshd", "evil.example"), member_of({})));
    CHECK(vigil::rule_matches(deny, request("a", "sshd", "evil.example"), member_of({})));
}

TEST_CASE("local policy denies requests no rule allows") {
    auto d = vigil::decide_locally({}, request("alice", "sshd"), member_of({}));
    CHECK(d.outcome == Outcome::Deny);
    CHECK(d.rule.empty());
    CHECK_THAT(d.reason_user, Catch::Contains("no policy rule allows sshd for alice"));
}

TEST_CASE("local policy lets a matching deny win over an earlier allow") {
    auto allow = rule("ops may sudo", Effect::Allow);
    allow.groups = {"ops"};
    auto deny = rule("contractors never sudo", Effect::Deny);
    deny.users = {"mallory"};
    deny.reason = "contractors cannot use sudo on this host";
    auto d = vigil::decide_locally({allow, deny}, request("mallory", "sudo"), member_of({"ops"}));
    CHECK(d.outcome == Outcome::Deny);
    CHECK(d.rule == "contractors never sudo");
    CHECK(d.reason_user == "contractors cannot use sudo on this host");
}

TEST_CASE("local policy takes session_max from the first matching allow") {
    auto first = rule("first", Effect::Allow);
    first.session_max = std::chrono::hours(8);
    auto second = rule("second", Effect::Allow);
    second.session_max = std::chrono::hours(1);
    auto d = vigil::decide_locally({first, second}, request("a", "sshd"), member_of({}));
    CHECK(d.outcome == Outcome::Allow);
    CHECK(d.rule == "first");
    CHECK(d.session_max == std::chrono::hours(8));
}

TEST_CASE("local policy carries the matching allow's session_idle") {
    auto r = rule("idle", Effect::Allow);
    r.session_idle = std::chrono::minutes(15);
    auto d = vigil::decide_locally({r}, request("a", "sshd"), member_of({}));
    CHECK(d.session_idle == std::chrono::minutes(15));
}

namespace {

vigil::Request sudo_command(std::string path, std::vector<std::string> argv, std::string runas = "root") {
    auto q = request("alice", "sudo");
    q.phase = vigil::Phase::Command;
    q.command = std::move(argv);
    q.sudo.emplace();
    q.sudo->path = q.sudo->resolved = std::move(path);
    q.sudo->runas_user = std::move(runas);
    q.sudo->runas_uid = q.sudo->runas_user == "root" ? 0 : 1001;
    return q;
}

vigil::Rule command_rule(Effect effect, std::vector<std::string> commands, std::vector<std::string> runas = {}) {
    auto r = rule("commands", effect);
    for (const auto& c : commands) r.commands.push_back(*vigil::parse_command_pattern(c));
    r.runas = std::move(runas);
    return r;
}

}  // namespace

TEST_CASE("command rules match the command sudo resolved, with its arguments and run-as user") {
    auto r = command_rule(Effect::Allow, {"/usr/bin/systemctl restart nginx"}, {"root", "#1001"});
    auto who = member_of({});
    CHECK(vigil::rule_matches(r, sudo_command("/usr/bin/systemctl", {"systemctl", "restart", "nginx"}), who));
    CHECK_FALSE(vigil::rule_matches(r, sudo_command("/usr/bin/systemctl", {"systemctl", "stop", "nginx"}), who));
    CHECK(vigil::rule_matches(r, sudo_command("/usr/bin/systemctl", {"systemctl", "restart", "nginx"}, "deploy"), who));
    auto as_www = sudo_command("/usr/bin/systemctl", {"systemctl", "restart", "nginx"}, "www-data");
    as_www.sudo->runas_uid = 33;
    CHECK_FALSE(vigil::rule_matches(r, as_www, who));
}

TEST_CASE("command rules never match another service") {
    auto deny = command_rule(Effect::Deny, {"/usr/bin/bash"});
    CHECK_FALSE(vigil::rule_matches(deny, request("alice", "sshd"), member_of({})));
    CHECK_FALSE(vigil::rule_matches(deny, request("alice", "su"), member_of({})));
}

TEST_CASE(
    "without the command, a command deny rule holds and a command allow rule does not, unless the plugin decides "
    "later") {
    auto deny = command_rule(Effect::Deny, {"/usr/bin/bash"});
    auto allow = command_rule(Effect::Allow, {"/usr/bin/systemctl restart nginx"});
    auto pam = request("alice", "sudo");  // the PAM account phase: no exact command
    CHECK(vigil::rule_matches(deny, pam, member_of({})));
    CHECK_FALSE(vigil::rule_matches(allow, pam, member_of({})));
    pam.sudo_plugin = true;
    CHECK_FALSE(vigil::rule_matches(deny, pam, member_of({})));
    CHECK(vigil::rule_matches(allow, pam, member_of({})));
}

TEST_CASE("a shell denied by path is denied however sudo starts it") {
    auto deny = command_rule(Effect::Deny, {"/usr/bin/bash", "/usr/bin/sh"});
    auto who = member_of({});
    CHECK(vigil::rule_matches(deny, sudo_command("/usr/bin/bash", {"-bash"}), who));                      // sudo -i
    CHECK(vigil::rule_matches(deny, sudo_command("/usr/bin/bash", {"bash"}), who));                       // sudo -s
    CHECK(vigil::rule_matches(deny, sudo_command("/usr/bin/sh", {"sh", "-c", "cat /etc/shadow"}), who));  // sudo sh -c
}

TEST_CASE("a command deny rule that holds without the command says why, not the command's reason") {
    auto deny = command_rule(Effect::Deny, {"/usr/bin/bash"});
    deny.reason = "shells are not allowed";
    auto pam = request("alice", "sudo");
    auto d = vigil::deny_by(deny, pam);
    CHECK_THAT(d.reason_user, Catch::Contains("cannot be checked"));
    CHECK_THAT(d.reason_admin, Catch::Contains("approval = \"pam\""));
    CHECK(vigil::deny_by(deny, sudo_command("/usr/bin/bash", {"bash"})).reason_user == "shells are not allowed");
}
