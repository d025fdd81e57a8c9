// One [[rule]] from vigil.toml and whether it matches a request.
//
// A rule matches when every criterion it names matches (AND); a criterion is
// a list and matches when any entry does (OR); a criterion the rule leaves
// out matches everything.
#ifndef VIGIL_POLICY_RULE_H
#define VIGIL_POLICY_RULE_H

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cidr.h"
#include "command_pattern.h"
#include "identity.h"
#include "request.h"
#include "requirement.h"

namespace vigil {

enum class Effect { Allow, Deny };

// What decides when the remote PDP cannot answer in time.
enum class Fallback {
    Deny,    // deny
    Local,   // the local allow rule that matched decides alone
    Cached,  // the PDP's last answer for the same user, service and host, if young enough
};

const char* to_string(Fallback f);

struct Rule {
    std::string name;
    int line = 0;  // where it starts in the config, for explanations
    std::vector<std::string> services;
    std::vector<std::string> users;
    std::vector<std::string> groups;
    std::vector<Cidr> from;
    // sudo only: the commands (any, when empty) and the run-as users ("#uid"
    // too; any, when empty) the rule is about. See rule_matches.
    std::vector<CommandPattern> commands;
    std::vector<std::string> runas;
    Effect effect = Effect::Deny;
    std::string reason;
    std::optional<std::chrono::seconds> session_max;
    std::optional<std::chrono::seconds> session_idle;  // longest time without terminal input
    // With a remote PDP: false decides here without asking; fallback says
    // what happens when the PDP cannot answer (default: [pdp] fallback).
    bool ask_pdp = true;
    std::optional<Fallback> fallback;
    // Allow rules: posture that must hold for the allow to stand.
    std::vector<posture::Requirement> require;
    // Allow rules: a fresh second factor first ("totp", "device"; empty:
    // none), and a justification (purpose) first.
    std::string step_up;
    bool purpose = false;
};

// `from` needs an address: a request without PAM_RHOST (sudo, console) never
// matches a rule that names `from`. An rhost that is not an IP address (sshd
// with UseDNS) cannot be placed, so it matches deny rules and no allow rule.
//
// `commands` and `runas` match only sudo's services. With the command sudo
// resolved (the approval plugin) they match it exactly. Without it (sudo's
// PAM phases, a re-decision) the command is not known: when the plugin
// decides each command later (req.sudo_plugin), an allow rule stands for
// "may use sudo" and a deny rule waits for the command; with PAM alone, a
// deny rule holds (any command could be the one it names) and an allow rule
// does not (it cannot be checked).
bool rule_matches(const Rule& rule, const Request& req, const Identity& who);

// sudo's PAM services: the ones a command can be asked about.
bool is_sudo_service(const std::string& service);

}  // namespace vigil

#endif
