#include "rule.h"

#include <algorithm>

namespace vigil {
namespace {

bool listed(const std::vector<std::string>& list, const std::string& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

bool any_group(const std::vector<std::string>& wanted, const std::vector<std::string>& has) {
    if (wanted.empty()) return true;
    return std::any_of(wanted.begin(), wanted.end(),
                       [&](const std::string& g) { return std::binary_search(has.begin(), has.end(), g); });
}

bool from_matches(const Rule& rule, const std::string& rhost) {
    if (rule.from.empty()) return true;
    if (rhost.empty()) return false;
    auto addr = parse_ip(rhost);
    if (!addr) return rule.effect == Effect::Deny;
    return std::any_of(rule.from.begin(), rule.from.end(), [&](const Cidr& c) { return c.contains(*addr); });
}

bool runas_matches(const std::vector<std::string>& runas, const SudoCommand& c) {
    if (runas.empty()) return true;
    for (const std::string& r : runas) {
        if (!c.runas_user.empty() && r == c.runas_user) return true;
        if (c.runas_uid && r == "#" + std::to_string(*c.runas_uid)) return true;
    }
    return false;
}

bool command_listed(const std::vector<CommandPattern>& commands, const SudoCommand& c,
                    const std::vector<std::string>& argv) {
    if (commands.empty()) return true;
    AskedCommand asked{c.path, c.resolved, {}, c.sudoedit_files > 0};
    if (asked.sudoedit)
        asked.args = sudoedit_files(argv, c.sudoedit_files, c.cwd);
    else if (!argv.empty())
        asked.args.assign(argv.begin() + 1, argv.end());
    return std::any_of(commands.begin(), commands.end(),
                       [&](const CommandPattern& p) { return command_matches(p, asked); });
}

bool command_rule_matches(const Rule& rule, const Request& req) {
    if (rule.commands.empty() && rule.runas.empty()) return true;
    if (!is_sudo_service(req.service)) return false;
    if (req.sudo) {
        // A command cut short is refused before any rule (engine.cc).
        return command_listed(rule.commands, *req.sudo, req.command) && runas_matches(rule.runas, *req.sudo);
    }
    if (req.sudo_plugin) return rule.effect == Effect::Allow;
    return rule.effect == Effect::Deny;
}

}  // namespace

bool is_sudo_service(const std::string& service) { return service == "sudo" || service == "sudo-i"; }

const char* to_string(Fallback f) {
    switch (f) {
        case Fallback::Deny: return "deny";
        case Fallback::Local: return "local";
        case Fallback::Cached: return "cached";
    }
    return "deny";
}

bool rule_matches(const Rule& rule, const Request& req, const Identity& who) {
    return listed(rule.services, req.service) && listed(rule.users, req.user) && any_group(rule.groups, who.groups) &&
           from_matches(rule, req.rhost) && command_rule_matches(rule, req);
}

}  // namespace vigil
