// vigil.toml: the agent's settings and the local rules, validated as a whole.
// Every error names the file and line, like `sshd -t`:
//
//   /etc/vigil/vigil.toml:12: rule "ops": unknown key "group" (did you mean "groups"?)
//
//   Result<Config> c = load_config("/etc/vigil/vigil.toml");
#ifndef VIGIL_CONFIG_CONFIG_H
#define VIGIL_CONFIG_CONFIG_H

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clamd_collector.h"
#include "falcon_collector.h"
#include "grant_settings.h"
#include "host_collector.h"
#include "osquery_collector.h"
#include "requirement.h"
#include "result.h"
#include "rollout.h"
#include "rule.h"
#include "socket_collector.h"
#include "step_up_settings.h"
#include "systemd_collector.h"
#include "wazuh_collector.h"

namespace vigil {

// What a decision does when its record cannot be written to the trail (disk
// full, I/O error), like auditd's disk_full_action and disk_error_action.
enum class AuditFailure {
    Deny,      // an allow becomes a deny: no access goes unrecorded (default)
    Continue,  // the decision stands; the record goes to the journal, and the
               // trail gets an "audit_gap" record counting what it missed
};

struct AgentSettings {
    std::string socket = "/run/vigil/pam.sock";
    std::string admin_socket = "/run/vigil/admin.sock";
    // Where any local user asks for a just-in-time grant (vigilctl grant
    // request); the requester is named by SO_PEERCRED, never by the request.
    std::string grant_socket = "/run/vigil/grant.sock";
    std::string audit_log = "/var/log/vigil/audit.jsonl";
    AuditFailure audit_failure = AuditFailure::Deny;
    std::string state_dir = "/var/lib/vigil";
    // Requests decided at once; more are answered "busy" (a deny) at once
    // rather than queued behind a slow one.
    int max_concurrent = 64;
    // How long a user's groups may be served from memory when they come
    // from NSS sources other than the local files (SSSD, LDAP, userdb);
    // local files are watched and a change is seen on the next request.
    // 0: NSS is asked on every request. (identity_cache.h)
    std::chrono::seconds identity_cache{5};
    // How long a peer may take to send its request frame.
    std::chrono::milliseconds read_timeout{2000};
};

enum class PdpProtocol { Local, AuthZen, Cerbos, Opa };

// Which AuthZEN PDP is on the other end ([pdp] authzen_profile). "cerbos"
// adds what Cerbos' AuthZEN endpoint needs (roles in
// subject.properties["cerbos.roles"], the request context under
// subject.properties.context because it drops the top-level one, and
// cerbos.includeMeta so its rule outputs come back) and reads obligations
// from context["cerbos.response"].
enum class AuthzenProfile { Standard, Cerbos };

const char* to_string(PdpProtocol p);

// [pdp]: who decides what the local rules leave open, and how to reach it.
struct PdpSettings {
    PdpProtocol protocol = PdpProtocol::Local;
    std::vector<std::string> urls;  // failover order; https, or http to loopback only
    std::string ca_file;
    std::string pinned_pubkey;  // "sha256//<base64>"
    std::string client_cert;
    std::string client_key;
    std::string bearer_token_file;  // root-owned, mode 0600 or stricter
    std::chrono::milliseconds timeout{1500};
    Fallback fallback = Fallback::Deny;                  // for requests no allow rule names a fallback for
    std::chrono::seconds cache_max_age{300};             // how old a "cached" fallback answer may be
    std::chrono::seconds cache_allow{0};                 // positive cache; 0 = off
    std::vector<std::string> cache_services = {"sshd"};  // never sudo unless listed
    std::string opa_path = "vigil/decision";
    AuthzenProfile authzen_profile = AuthzenProfile::Standard;
    std::vector<std::string> ignore_keys;  // context keys that are information, not obligations
    int breaker_failures = 3;
    std::chrono::milliseconds breaker_cooldown{5000};
    int max_connections = 8;
    bool batch = true;  // AuthZEN: questions waiting for a free call go out as one batch
};

// [host]: the resource every request is about.
struct HostSettings {
    std::string id;  // default: the host name
    std::vector<std::pair<std::string, std::string>> labels;
};

// [subject]: how a caller is named to the PDP.
struct SubjectSettings {
    // ECMAScript regex; an SSH certificate whose key id matches makes the
    // subject a "workload" (a pipeline or agent), not a person.
    std::string workload_key_id;
};

// [ssh]: which SSH certificates vigil believes. sshd also accepts a
// certificate from any CA a user lists with cert-authority in their own
// authorized_keys, whose key id, principals and extensions are theirs to
// write: only a certificate signed by a CA named here adds anything to a
// request (the PDP's subject, workload_key_id, the session cap); any other
// is recorded in the trail as untrusted and otherwise ignored.
struct SshSettings {
    std::string trusted_user_ca_keys;                  // a file as sshd's TrustedUserCAKeys reads it
    std::vector<std::string> trusted_ca_fingerprints;  // "SHA256:<base64>", as ssh-keygen -l prints
};

// [posture]: which collectors run, and what every request requires.
struct PostureSettings {
    std::chrono::seconds max_age{60};  // older signals count as missing
    // A change that matters re-decides sessions only once it has held this
    // long (0: at once); see posture_view.h.
    std::chrono::seconds settle{0};
    // Signals of the admin's own sources (socket, osquery) that are ages or
    // timestamps: never a posture change by themselves (Signal::ticking).
    std::vector<std::string> ticking;
    std::vector<posture::Requirement> require;  // for every request, before any rule
    std::optional<posture::SystemdSettings> systemd;
    std::vector<posture::SocketSettings> sockets;  // [[posture.socket]]
    std::optional<posture::HostFactsSettings> host;
    std::optional<posture::FalconSettings> falcon;
    std::optional<posture::OsquerySettings> osquery;
    std::optional<posture::WazuhSettings> wazuh;
    std::optional<posture::ClamdSettings> clamd;
};

// [sessions]: how live sessions are watched and ended.
struct SessionSettings {
    std::chrono::seconds warn_before{120};  // tty warning before session_max
    std::chrono::seconds deny_grace{10};    // a re-decision flipped to deny: end after this
    std::chrono::seconds revoke_grace{5};   // SIGHUP/logind → SIGTERM → SIGKILL steps
    // Without a logind scope, put an ssh session's process in a scope of
    // its own (session_scope.h), so it ends with whatever it started.
    bool contain = true;
};

// [metrics]: Prometheus metrics in a file for node_exporter's textfile
// collector, rewritten every interval and at exit.
struct MetricsSettings {
    std::string textfile;  // must end in .prom; empty: no metrics file
    std::chrono::seconds interval{15};
};

// [sudo]: who decides each command sudo runs.
enum class SudoApproval {
    Pam,     // only PAM: no exact command, so rules naming commands or runas cannot allow
    Plugin,  // vigil_sudo.so asks about every command (sudo.conf); PAM asks only "may use sudo"
};
const char* to_string(SudoApproval a);

struct SudoSettings {
    SudoApproval approval = SudoApproval::Pam;
};

struct Config {
    std::string path;
    PostureSettings posture;
    AgentSettings agent;
    PdpSettings pdp;
    HostSettings host;
    SubjectSettings subject;
    SshSettings ssh;
    StepUpSettings step_up;
    SessionSettings sessions;
    GrantSettings grants;
    MetricsSettings metrics;
    RolloutSettings rollout;
    SudoSettings sudo;
    std::vector<Rule> rules;
    std::string version;             // "sha256:<hex>" of the file's bytes: the local policy version
    std::vector<std::string> files;  // what it was read from: the main file, then the drop-ins
    // "file:line: ..." for what was read but should change (an old name);
    // vigild logs them at every load, vigild --check prints them.
    std::vector<std::string> warnings;
};

// Parses text as if read from path (path only labels errors).
Result<Config> parse_config(std::string_view text, const std::string& path);

// Parses files (the main file first, then drop-ins) merged into one; see
// config_files.h for the merge rules.
struct ConfigFile;
Result<Config> parse_config_files(const std::vector<ConfigFile>& files);

// Reads path and its drop-ins (path + ".d"/*.toml) and parses them. Refuses
// a file that is not a regular file owned by root (or by the user running
// vigild) or that group or others may write, and such a drop-in directory,
// as sshd's StrictModes does: whoever can write it decides who gets in.
Result<Config> load_config(const std::string& path);

}  // namespace vigil

#endif
