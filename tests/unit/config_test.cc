#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "config_files.h"

using vigil::parse_config;

namespace {

// The example from the foundation issue, which must be accepted as it is.
const char* kIssueExample = R"([agent]
socket = "/run/vigil/pam.sock"
audit_log = "/var/log/vigil/audit.jsonl"
state_dir = "/var/lib/vigil"

[pdp]
protocol = "local"

[[rule]]
name = "ops may ssh"
services = ["sshd"]
groups = ["ops"]
decision = "allow"
session_max = "8h"

[[rule]]
name = "ops may sudo"
services = ["sudo"]
groups = ["ops"]
decision = "allow"

[[rule]]
name = "contractors never sudo"
services = ["sudo"]
users = ["mallory"]
decision = "deny"
reason = "contractors cannot use sudo on this host"
)";

std::string error_of(const std::string& text) {
    auto r = parse_config(text, "vigil.toml");
    REQUIRE_FALSE(r);
    return r.error().message;
}

std::string temp_file(const std::string& text, mode_t mode) {
    char path[] = "/tmp/vigil-config-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    chmod(path, mode);
    return path;
}

}  // namespace

TEST_CASE("config accepts the issue's example as it is") {
    auto c = parse_config(kIssueExample, "vigil.toml");
    REQUIRE(c);
    REQUIRE(c->rules.size() == 3);
    CHECK(c->rules[0].name == "ops may ssh");
    CHECK(c->rules[0].line == 9);
    CHECK(c->rules[0].session_max == std::chrono::hours(8));
    CHECK(c->rules[2].effect == vigil::Effect::Deny);
    CHECK(c->agent.socket == "/run/vigil/pam.sock");
    CHECK(c->version.rfind("sha256:", 0) == 0);
}

TEST_CASE("config version changes with the file's bytes") {
    auto a = parse_config(kIssueExample, "a");
    auto b = parse_config(std::string(kIssueExample) + "\n", "a");
    CHECK(a->version != b->version);
}

TEST_CASE("config reports TOML syntax errors with file and line") {
    CHECK_THAT(error_of("[agent]\nsocket = \n"), Catch::StartsWith("vigil.toml:2:"));
}

TEST_CASE("config rejects unknown keys with file, line and a suggestion") {
    auto e = error_of("[[rule]]\nname = \"x\"\ngroup = [\"ops\"]\ndecision = \"allow\"\n");
    CHECK_THAT(e, Catch::StartsWith("vigil.toml:3:"));
    CHECK_THAT(e, Catch::Contains("unknown key \"group\"") && Catch::Contains("\"groups\""));
    CHECK_THAT(error_of("[agnet]\n"), Catch::StartsWith("vigil.toml:1:"));
}

TEST_CASE("config rejects bad rule values, each at its line") {
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"maybe\"\n"), Catch::StartsWith("vigil.toml:3:"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\n"), Catch::Contains("needs decision"));
    CHECK_THAT(error_of("[[rule]]\ndecision = \"allow\"\n"), Catch::Contains("needs a name"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nsession_max = \"8 hours\"\n"),
               Catch::StartsWith("vigil.toml:4:") && Catch::Contains("invalid duration"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nfrom = [\"10.0.0.1/8\"]\n"),
               Catch::StartsWith("vigil.toml:4:"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nservices = \"sshd\"\n"),
               Catch::StartsWith("vigil.toml:4:") && Catch::Contains("must be a list"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nusers = []\n"), Catch::Contains("is empty"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nreason = \"r\"\n"),
               Catch::Contains("only for deny rules"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\nsession_idle = \"1h\"\n"),
               Catch::Contains("session_idle is only for allow rules"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\nsession_max = \"1h\"\n"),
               Catch::Contains("only for allow rules"));
}

TEST_CASE("config reads a remote PDP, host labels and per-rule fallbacks") {
    auto c = parse_config(R"([pdp]
protocol = "cerbos"
urls = ["https://pdp-a.example:3592/", "http://127.0.0.1:3592"]
timeout = "800ms"
fallback = "cached"
cache_max_age = "10m"
cache_allow_seconds = 30
[host]
id = "web-01"
labels = { sensitivity = "high", environment = "prod" }
[subject]
workload_key_id = "^ci-"
[[rule]]
name = "ops"
groups = ["ops"]
decision = "allow"
fallback = "local"
[[rule]]
name = "break glass"
users = ["root"]
decision = "allow"
ask_pdp = false
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->pdp.protocol == vigil::PdpProtocol::Cerbos);
    CHECK(c->pdp.urls == std::vector<std::string>{"https://pdp-a.example:3592", "http://127.0.0.1:3592"});
    CHECK(c->pdp.timeout == std::chrono::milliseconds(800));
    CHECK(c->pdp.fallback == vigil::Fallback::Cached);
    CHECK(c->pdp.cache_max_age == std::chrono::minutes(10));
    CHECK(c->pdp.cache_allow == std::chrono::seconds(30));
    CHECK(c->pdp.batch);
    CHECK(c->host.id == "web-01");
    CHECK(c->host.labels.size() == 2);
    CHECK(c->subject.workload_key_id == "^ci-");
    CHECK(c->rules[0].fallback == vigil::Fallback::Local);
    CHECK_FALSE(c->rules[1].ask_pdp);
}

TEST_CASE("config reads posture collectors and requirements") {
    auto c = parse_config(R"([posture]
max_age = "30s"
require = ["systemd.system_state != degraded"]
[posture.systemd]
bus = "user"
units = ["fake-edr.service"]
interval = "5s"
[[rule]]
name = "ops"
decision = "allow"
require = ["systemd.unit.fake-edr.service == active"]
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->posture.max_age == std::chrono::seconds(30));
    REQUIRE(c->posture.require.size() == 1);
    REQUIRE(c->posture.systemd);
    CHECK(c->posture.systemd->bus == "user");
    CHECK(c->posture.systemd->units == std::vector<std::string>{"fake-edr.service"});
    CHECK(c->posture.systemd->interval == std::chrono::seconds(5));
    REQUIRE(c->rules[0].require.size() == 1);
    CHECK(c->rules[0].require[0].signal == "systemd.unit.fake-edr.service");
}

TEST_CASE("config rejects bad posture settings at their line") {
    CHECK_THAT(error_of("[posture.systemd]\nbus = \"session\"\n"), Catch::StartsWith("vigil.toml:2:"));
    CHECK_THAT(error_of("[posture]\nrequire = [\"edr running\"]\n"),
               Catch::StartsWith("vigil.toml:2:") && Catch::Contains("SIGNAL OP VALUE"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\nrequire = [\"a == b\"]\n"),
               Catch::StartsWith("vigil.toml:4:") && Catch::Contains("only for allow rules"));
}

TEST_CASE("config checks each collector's settings and interval") {
    CHECK_THAT(error_of("[[posture.socket]]\nname = \"edr\"\npath = \"/run/e.sock\"\nfields = { "
                        "\"reach able\" = \"a\" }\n"),
               Catch::Contains("reach able"));
    CHECK_THAT(error_of("[posture]\nmax_age = \"30s\"\n[posture.host]\ninterval = \"1m\"\n"),
               Catch::Contains("[posture.host] interval must be shorter than its max_age (30s)"));
    CHECK(parse_config("[posture]\nmax_age = \"2m\"\n[posture.host]\ninterval = \"1m\"\n", "v"));
    // A collector's own max_age is what its interval is checked against.
    CHECK(parse_config("[posture]\nmax_age = \"30s\"\n[posture.host]\ninterval = \"1m\"\nmax_age = \"5m\"\n", "v"));
    CHECK_THAT(error_of("[posture.clamd]\ninterval = \"1m\"\nmax_age = \"30s\"\n"),
               Catch::Contains("[posture.clamd] interval must be shorter than its max_age (30s)"));
}

TEST_CASE("config gives each collector its own max_age or the [posture] one") {
    auto c = parse_config(R"([posture]
max_age = "45s"
[posture.host]
interval = "10s"
[posture.clamd]
max_age = "10m"
interval = "2m"
[[posture.socket]]
name = "edr"
path = "/run/edr.sock"
fields = { alive = "alive" }
max_age = "20s"
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->posture.host->max_age == std::chrono::seconds(45));
    CHECK(c->posture.clamd->max_age == std::chrono::minutes(10));
    CHECK(c->posture.sockets[0].max_age == std::chrono::seconds(20));
}

TEST_CASE("config reads whom each collector trusts besides root, and the Falcon key") {
    auto c = parse_config(R"([posture.clamd]
peer_user = 112
[posture.wazuh]
owner = "ossec"
[posture.falcon]
zta_file = "/opt/CrowdStrike/data.zta"
public_key = "/etc/vigil/crowdstrike-zta.pem"
owner = "falcon"
[[posture.socket]]
name = "edr"
path = "/run/edr.sock"
fields = { alive = "alive" }
peer_user = "edr-agent"
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->posture.clamd->peer_user == "112");
    CHECK(c->posture.wazuh->owner == "ossec");
    CHECK(c->posture.falcon->public_key == "/etc/vigil/crowdstrike-zta.pem");
    CHECK(c->posture.falcon->owner == "falcon");
    CHECK(c->posture.sockets[0].peer_user == "edr-agent");

    // The defaults: the accounts Debian's clamav-daemon and the Wazuh agent run as; root alone otherwise.
    auto d = parse_config("[posture.clamd]\n[posture.wazuh]\n[posture.falcon]\nzta_file = \"/z\"\n", "v");
    REQUIRE(d);
    CHECK(d->posture.clamd->peer_user == "clamav");
    CHECK(d->posture.wazuh->owner == "wazuh");
    CHECK(d->posture.falcon->owner.empty());
    CHECK(d->posture.falcon->public_key.empty());

    CHECK_THAT(
        error_of("[posture.clamd]\npeer_user = \"clam av\"\n"),
        Catch::StartsWith("vigil.toml:2:") && Catch::Contains("posture.clamd.peer_user must be a user name or a uid"));
    CHECK_THAT(error_of("[posture.wazuh]\nowner = -1\n"), Catch::Contains("posture.wazuh.owner must be an integer"));
    CHECK_THAT(error_of("[posture.falcon]\nzta_file = \"/z\"\npublic_key = \"key.pem\"\n"),
               Catch::Contains("posture.falcon.public_key must be an absolute path"));
}

TEST_CASE("config reads a requirement's within bound") {
    auto c = parse_config("[posture]\nrequire = [\"falcon.zta.overall >= 70 within 2m\", \"a == b\"]\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->posture.require[0].signal == "falcon.zta.overall");
    CHECK(c->posture.require[0].value == "70");
    CHECK(c->posture.require[0].within == std::chrono::minutes(2));
    CHECK(c->posture.require[0].text == "falcon.zta.overall >= 70 within 2m");
    CHECK_FALSE(c->posture.require[1].within);
    CHECK_THAT(error_of("[posture]\nrequire = [\"a == b within soon\"]\n"),
               Catch::StartsWith("vigil.toml:2:") && Catch::Contains("within"));
}

TEST_CASE("config names the host after the machine when [host] id is left out") {
    auto c = parse_config("", "vigil.toml");
    REQUIRE(c);
    CHECK_FALSE(c->host.id.empty());
}

TEST_CASE("config rejects two rules with one name") {
    auto e = error_of(
        "[[rule]]\nname = \"x\"\ndecision = \"allow\"\n[[rule]]\nname = \"x\"\ndecision = "
        "\"deny\"\n");
    CHECK_THAT(e, Catch::StartsWith("vigil.toml:4:") && Catch::Contains("exists already"));
}

TEST_CASE("config rejects relative paths, long socket paths and bad PDP settings") {
    CHECK_THAT(error_of("[agent]\naudit_log = \"audit.jsonl\"\n"), Catch::Contains("absolute path"));
    CHECK_THAT(error_of("[agent]\nsocket = \"/" + std::string(120, 'a') + "\"\n"),
               Catch::Contains("longer than a unix socket path"));
    CHECK_THAT(error_of("[pdp]\nprotocol = \"authzen\"\n"), Catch::Contains("needs urls"));
    CHECK_THAT(error_of("[pdp]\nprotocol = \"xacml\"\n"), Catch::StartsWith("vigil.toml:2:"));
    CHECK_THAT(error_of("[pdp]\nprotocol = \"cerbos\"\nurls = [\"http://pdp.example:3592\"]\n"),
               Catch::StartsWith("vigil.toml:3:") && Catch::Contains("plain http only to loopback"));
    for (const char* host : {"http://127.0.0.1.example.com", "http://localhost.example.com:80", "http://10.0.0.1"}) {
        INFO(host);
        CHECK_THAT(error_of(std::string("[pdp]\nprotocol = \"opa\"\nurls = [\"") + host + "\"]\n"),
                   Catch::Contains("plain http only to loopback"));
    }
    for (const char* host : {"http://localhost:8181", "http://127.0.0.2/", "http://[::1]:8181"}) {
        INFO(host);
        CHECK(parse_config(std::string("[pdp]\nprotocol = \"opa\"\nurls = [\"") + host + "\"]\n", "v"));
    }
    CHECK(parse_config("[pdp]\nignore_keys = []\n", "v"));
    CHECK_FALSE(parse_config("[pdp]\nbatch = false\n", "v")->pdp.batch);
    CHECK_THAT(error_of("[pdp]\nbatch = \"yes\"\n"),
               Catch::StartsWith("vigil.toml:2:") && Catch::Contains("pdp.batch must be true or false"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nask_pdp = \"no\"\n"),
               Catch::Contains("rule \"x\": ask_pdp must be true or false"));
    CHECK_THAT(error_of("[pdp]\ntimeout = \"soon\"\n"), Catch::StartsWith("vigil.toml:2:"));
    CHECK_THAT(error_of("[pdp]\nfallback = \"allow\"\n"), Catch::Contains("\"deny\", \"local\" or \"cached\""));
    CHECK_THAT(error_of("[pdp]\nclient_cert = \"/etc/c.pem\"\n"), Catch::Contains("go together"));
    CHECK_THAT(error_of("[pdp]\nopa_path = \"../x\"\n"), Catch::Contains("opa_path"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\nfallback = \"local\"\n"),
               Catch::StartsWith("vigil.toml:4:") && Catch::Contains("only for allow rules"));
    CHECK_THAT(error_of("[subject]\nworkload_key_id = \"(\"\n"), Catch::Contains("not a regular expression"));
    CHECK_THAT(error_of("[agent]\nmax_concurrent = 0\n"), Catch::Contains("from 1 to 4096"));
    CHECK_THAT(error_of("[agent]\naudit_failure = \"ignore\"\n"), Catch::Contains("\"deny\" or \"continue\""));
    CHECK(parse_config("", "v")->agent.audit_failure == vigil::AuditFailure::Deny);
    CHECK(parse_config("[agent]\naudit_failure = \"continue\"\n", "v")->agent.audit_failure ==
          vigil::AuditFailure::Continue);
    CHECK_THAT(error_of("[agent]\nsocket = \"/run/a\"\nadmin_socket = \"/run/a\"\n"), Catch::Contains("must differ"));
    CHECK_THAT(error_of("[agent]\nsocket = \"/run/x/admin.sock\"\n"), Catch::Contains("must differ"));
}

TEST_CASE("config: sockets not named sit beside the PAM socket") {
    auto defaults = parse_config("", "v");
    REQUIRE(defaults);
    CHECK(defaults->agent.admin_socket == "/run/vigil/admin.sock");
    CHECK(defaults->agent.grant_socket == "/run/vigil/grant.sock");
    auto moved = parse_config("[agent]\nsocket = \"/run/canary/pam.sock\"\n", "v");
    REQUIRE(moved);
    CHECK(moved->agent.admin_socket == "/run/canary/admin.sock");
    CHECK(moved->agent.grant_socket == "/run/canary/grant.sock");
    auto named = parse_config("[agent]\nsocket = \"/run/c/pam.sock\"\ngrant_socket = \"/run/g.sock\"\n", "v");
    REQUIRE(named);
    CHECK(named->agent.admin_socket == "/run/c/admin.sock");
    CHECK(named->agent.grant_socket == "/run/g.sock");
    std::string deep = "/run/" + std::string(95, 'd') + "/p.sock";  // 107 bytes; its admin.sock would be 111
    CHECK_THAT(error_of("[agent]\nsocket = \"" + deep + "\"\n"), Catch::Contains("beside agent.socket"));
}

TEST_CASE("config rejects a group-writable file") {
    std::string path = temp_file(kIssueExample, 0664);
    auto r = vigil::load_config(path);
    unlink(path.c_str());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("writable by group or others"));
}

TEST_CASE("config loads a root-owned 0644 file") {
    std::string path = temp_file(kIssueExample, 0644);
    auto r = vigil::load_config(path);
    unlink(path.c_str());
    REQUIRE(r);
    CHECK(r->path == path);
}

TEST_CASE("config names a missing file") {
    auto r = vigil::load_config("/nonexistent/vigil.toml");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("/nonexistent/vigil.toml: cannot open"));
}

TEST_CASE("config reads [step_up] and step-up rules", "[step_up]") {
    auto c = parse_config(R"([step_up]
remember = "0"
[step_up.totp]
store_dir = "/var/lib/vigil/totp"
digits = 8
lockout_after = 3
lockout_for = "1h"
[step_up.purpose]
pattern = "^[A-Z]+-[0-9]+"
[[rule]]
name = "sudo with totp"
services = ["sudo"]
decision = "step_up"
[[rule]]
name = "ssh with a reason"
services = ["sshd"]
decision = "allow"
purpose = true
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->step_up.remember.count() == 0);
    CHECK(c->step_up.totp_configured);
    CHECK_FALSE(c->step_up.device_configured);
    CHECK(c->step_up.totp.digits == 8);
    CHECK(c->step_up.totp.lockout_after == 3);
    CHECK(c->step_up.totp.lockout_for == std::chrono::hours(1));
    CHECK(c->rules[0].effect == vigil::Effect::Allow);
    CHECK(c->rules[0].step_up == "totp");
    CHECK(c->rules[1].step_up.empty());
    CHECK(c->rules[1].purpose);
}

TEST_CASE("config reads the old [stepup] tables as [step_up], with a warning naming the line", "[step_up]") {
    auto c = parse_config("# 0.1.0's name:\n\n\n[stepup]\nremember = \"5m\"\n[stepup.totp]\ndigits = 8\n",
                          "/etc/vigil/vigil.toml");
    REQUIRE(c);
    CHECK(c->step_up.remember == std::chrono::minutes(5));
    CHECK(c->step_up.totp_configured);
    CHECK(c->step_up.totp.digits == 8);
    REQUIRE(c->warnings.size() == 1);
    CHECK(c->warnings[0] ==
          "/etc/vigil/vigil.toml:4: [stepup] is the old name of [step_up]; it is read as [step_up]: rename it");
    auto today = parse_config("[step_up.totp]\n", "v");
    REQUIRE(today);
    CHECK(today->warnings.empty());
}

TEST_CASE("config refuses [stepup] beside [step_up] in one file; a drop-in's [stepup] merges as [step_up]",
          "[step_up]") {
    CHECK_THAT(error_of("[stepup.totp]\n[step_up]\nremember = \"1m\"\n"),
               Catch::Contains("both [stepup] and [step_up]"));
    CHECK_THAT(error_of("stepup = 1\n"), Catch::Contains("[stepup] must be a table"));
    std::vector<vigil::ConfigFile> files = {{"/etc/vigil/vigil.toml", "[step_up.totp]\ndigits = 8\n"},
                                            {"/etc/vigil/vigil.toml.d/old.toml", "[stepup]\nremember = \"1m\"\n"}};
    auto merged = vigil::parse_config_files(files);
    REQUIRE(merged);
    CHECK(merged->step_up.totp.digits == 8);
    CHECK(merged->step_up.remember == std::chrono::minutes(1));
    REQUIRE(merged->warnings.size() == 1);
    CHECK_THAT(merged->warnings[0], Catch::StartsWith("/etc/vigil/vigil.toml.d/old.toml:1: [stepup] is the old name"));
}

TEST_CASE("config refuses step-up settings that cannot work", "[step_up]") {
    // A method nobody configured would deny everyone the rule matches.
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"step_up\"\nstep_up = \"device\"\n"),
               Catch::Contains("needs a [step_up.device] table"));
    CHECK_THAT(error_of("[step_up.totp]\n[[rule]]\nname = \"x\"\ndecision = \"allow\"\nstep_up = \"sms\"\n"),
               Catch::Contains("\"totp\" or \"device\""));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\npurpose = true\n"),
               Catch::Contains("only for allow and step_up rules"));
    CHECK_THAT(error_of("[step_up.purpose]\npattern = \"([\"\n"), Catch::Contains("not a regular expression"));
    CHECK_THAT(error_of("[step_up.totp]\ndigits = 4\n"), Catch::Contains("step_up.totp.digits"));
    CHECK_THAT(error_of("[step_up.device]\nissuer = \"http://idp.example.com\"\nclient_id = \"vigil\"\n"),
               Catch::Contains("https://"));
    CHECK(parse_config("[step_up.device]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"vigil\"\n", "v"));
    CHECK_THAT(error_of("[step_up.device]\nissuer = \"https://idp\"\n"), Catch::Contains("needs issuer and client_id"));
}

TEST_CASE("config: [step_up.device] user_claim is sub unless the admin names another, never empty", "[step_up]") {
    const std::string device = "[step_up.device]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"vigil\"\n";
    auto c = parse_config(device, "v");
    REQUIRE(c);
    CHECK(c->step_up.device.user_claim == "sub");
    c = parse_config(device + "user_claim = \"preferred_username\"\n", "v");
    REQUIRE(c);
    CHECK(c->step_up.device.user_claim == "preferred_username");
    CHECK_THAT(error_of(device + "user_claim = \"\"\n"), Catch::Contains("step_up.device.user_claim is empty"));
}

TEST_CASE("config reads [sessions]", "[sessions]") {
    auto c =
        parse_config("[sessions]\nwarn_before = \"0\"\ndeny_grace = \"30s\"\nrevoke_grace = \"2s\"\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->sessions.warn_before.count() == 0);
    CHECK(c->sessions.deny_grace == std::chrono::seconds(30));
    CHECK(c->sessions.revoke_grace == std::chrono::seconds(2));
    CHECK(c->sessions.contain);
    auto off = parse_config("[sessions]\ncontain = false\n", "vigil.toml");
    REQUIRE(off);
    CHECK_FALSE(off->sessions.contain);
    CHECK_THAT(error_of("[sessions]\ncontain = \"no\"\n"), Catch::Contains("sessions.contain"));
    CHECK_THAT(error_of("[sessions]\nwarn = \"1m\"\n"), Catch::Contains("unknown key"));
    CHECK_THAT(error_of("[sessions]\nrevoke_grace = \"0\"\n"), Catch::Contains("sessions.revoke_grace"));
}

TEST_CASE("config reads [grants] and refuses a group listed twice", "[grants]") {
    auto c =
        parse_config("[grants]\nmax = \"2h\"\n[[grants.group]]\nname = \"vigil-sudo\"\ngid = 64201\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->grants.max == std::chrono::hours(2));
    REQUIRE(c->grants.groups.size() == 1);
    CHECK(c->grants.groups[0].gid == 64201);
    CHECK_THAT(error_of("[[grants.group]]\nname = \"a\"\ngid = 70000\n[[grants.group]]\nname = \"a\"\ngid = 70001\n"),
               Catch::Contains("listed twice"));
    CHECK_THAT(error_of("[[grants.group]]\nname = \"a\"\ngid = 0\n"), Catch::Contains("grants.group.gid"));
}

TEST_CASE("config reads how often a user may ask for a grant, with defaults", "[grants]") {
    auto d = parse_config("[grants]\n", "vigil.toml");
    REQUIRE(d);
    CHECK(d->grants.requests_burst == 5);
    CHECK(d->grants.requests_every == std::chrono::seconds(15));
    auto c = parse_config("[grants]\nrequests_burst = 20\nrequests_every = \"1m\"\n", "vigil.toml");
    REQUIRE(c);
    CHECK(c->grants.requests_burst == 20);
    CHECK(c->grants.requests_every == std::chrono::minutes(1));
    CHECK_THAT(error_of("[grants]\nrequests_burst = 0\n"), Catch::Contains("grants.requests_burst"));
    CHECK_THAT(error_of("[grants]\nrequests_burst = 1001\n"), Catch::Contains("grants.requests_burst"));
    CHECK_THAT(error_of("[grants]\nrequests_every = \"0s\"\n"), Catch::Contains("grants.requests_every"));
}

TEST_CASE("config reads a rule's session_idle") {
    auto c = parse_config("[[rule]]\nname = \"x\"\ndecision = \"allow\"\nsession_idle = \"15m\"\n", "t.toml");
    REQUIRE(c);
    CHECK(c->rules[0].session_idle == std::chrono::minutes(15));
}

TEST_CASE("config reads [[grants.account]] and refuses what the table could not hold", "[grants]") {
    auto c = parse_config(
        "[[grants.account]]\nname = \"breakglass\"\nuid = 64301\ngid = 64301\nhome = \"/var/lib/breakglass\"\n",
        "vigil.toml");
    REQUIRE(c);
    REQUIRE(c->grants.accounts.size() == 1);
    CHECK(c->grants.accounts[0].shell == "/bin/bash");
    CHECK(c->grants.accounts[0].gecos.empty());
    const std::string good_rest = "\nuid = 64301\ngid = 64301\nhome = \"/h\"\n";
    CHECK_THAT(error_of("[[grants.account]]\nname = \"a\"\nuid = 64301\n"), Catch::Contains("needs name, uid, gid"));
    CHECK_THAT(error_of("[[grants.account]]\nname = \"a\"\nuid = 0\ngid = 64301\nhome = \"/h\"\n"),
               Catch::Contains("grants.account.uid"));
    CHECK_THAT(error_of("[[grants.account]]\nname = \"bad name\"" + good_rest), Catch::Contains("bad account name"));
    CHECK_THAT(error_of("[[grants.account]]\nname = \"a\"\ngecos = \"x:y\"" + good_rest), Catch::Contains("gecos"));
    CHECK_THAT(
        error_of("[[grants.account]]\nname = \"a\"" + good_rest + "[[grants.account]]\nname = \"a\"" + good_rest),
        Catch::Contains("listed twice"));
}

TEST_CASE("config reads [sudo] approval and rules that name commands and run-as users") {
    auto c = parse_config(R"([sudo]
approval = "plugin"
[[rule]]
name = "restart nginx"
groups = ["ops"]
commands = ["/usr/bin/systemctl restart nginx", "/usr/bin/systemctl status *", "/usr/bin/id \"\""]
runas = ["root", "#1001"]
decision = "allow"
)",
                          "vigil.toml");
    REQUIRE(c);
    CHECK(c->sudo.approval == vigil::SudoApproval::Plugin);
    REQUIRE(c->rules[0].commands.size() == 3);
    CHECK(c->rules[0].commands[1].args == vigil::CommandPattern::Args::Prefix);
    CHECK(c->rules[0].runas == std::vector<std::string>{"root", "#1001"});
    CHECK(parse_config("", "vigil.toml")->sudo.approval == vigil::SudoApproval::Pam);
    CHECK_THAT(error_of("[sudo]\napproval = \"maybe\"\n"), Catch::Contains("\"pam\" or \"plugin\""));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\ncommands = [\"bash\"]\n"),
               Catch::StartsWith("vigil.toml:4:") && Catch::Contains("absolute path"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\nservices = [\"sshd\"]\ndecision = \"deny\"\nrunas = [\"root\"]\n"),
               Catch::Contains("for sudo's services"));
    CHECK_THAT(error_of("[[rule]]\nname = \"x\"\ndecision = \"deny\"\ncommands = []\n"), Catch::Contains("is empty"));
}
