// vigil.toml: the agent's settings and the local rules, validated as a whole.
// Every error names the file and line, like `sshd -t`:
//
//   /etc/vigil/vigil.toml:12: rule "ops": unknown key "group" (did you mean "groups"?)
//
//   Result<Config> c = load_config("/etc/vigil/vigil.toml");
#ifndef VIGIL_AGENT_CONFIG_H
#define VIGIL_AGENT_CONFIG_H

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "rule.h"

namespace vigil {

struct AgentSettings {
    std::string socket = "/run/vigil/pam.sock";
    std::string admin_socket = "/run/vigil/admin.sock";
    std::string audit_log = "/var/log/vigil/audit.jsonl";
    std::string state_dir = "/var/lib/vigil";
    // Requests decided at once; more are answered "busy" (a deny) at once
    // rather than queued behind a slow one.
    int max_concurrent = 64;
    // How long a peer may take to send its request frame.
    std::chrono::milliseconds read_timeout{2000};
};

enum class PdpProtocol { Local };

struct Config {
    std::string path;
    AgentSettings agent;
    PdpProtocol pdp = PdpProtocol::Local;
    std::vector<Rule> rules;
    std::string version;  // "sha256:<hex>" of the file's bytes: the local policy version
};

// Parses text as if read from path (path only labels errors).
Result<Config> parse_config(std::string_view text, const std::string& path);

// Reads and parses path. Refuses a file that is not a regular file owned by
// root (or by the user running vigild) or that group or others may write,
// as sshd's StrictModes does: whoever can write it decides who gets in.
Result<Config> load_config(const std::string& path);

}  // namespace vigil

#endif
