#include "local_policy.h"

#include <fmt/format.h>

namespace vigil {

Decision deny_by(const Rule& rule, const Request& req) {
    Decision d;
    d.outcome = Outcome::Deny;
    d.rule = rule.name;
    d.reason_user = rule.reason.empty() ? "access denied by policy" : rule.reason;
    d.reason_admin =
        fmt::format("deny rule \"{}\" (line {}) matched {} for {}", rule.name, rule.line, req.service, req.user);
    // Matched without the command (rule.h): say so, or the reason names a
    // command the user did not run.
    bool unseen = (!rule.commands.empty() || !rule.runas.empty()) && !req.sudo;
    if (unseen) {
        d.reason_user = "access denied: this host decides sudo by command, and this command cannot be checked";
        d.reason_admin +=
            "; the rule names commands or run-as users, which only the sudo approval plugin sees "
            "([sudo] approval = \"pam\")";
    }
    return d;
}

Decision allow_by(const Rule& rule, const Request& req) {
    Decision d;
    d.outcome = Outcome::Allow;
    d.rule = rule.name;
    d.session_max = rule.session_max;
    d.session_idle = rule.session_idle;
    d.reason_admin =
        fmt::format("allow rule \"{}\" (line {}) matched {} for {}", rule.name, rule.line, req.service, req.user);
    return d;
}

Decision default_deny(const Request& req) {
    Decision d;
    d.outcome = Outcome::Deny;
    d.reason_user = fmt::format("no policy rule allows {} for {} on this host", req.service, req.user);
    d.reason_admin = "no rule matched; unmatched requests are denied";
    return d;
}

RuleMatch match_rules(const std::vector<Rule>& rules, const Request& req, const Identity& who) {
    RuleMatch m;
    for (const Rule& rule : rules) {
        if (!rule_matches(rule, req, who)) continue;
        if (rule.effect == Effect::Deny) {
            m.deny = &rule;
            return m;
        }
        if (m.allow == nullptr) m.allow = &rule;
    }
    return m;
}

Decision decide_locally(const std::vector<Rule>& rules, const Request& req, const Identity& who) {
    RuleMatch m = match_rules(rules, req, who);
    if (m.deny) return deny_by(*m.deny, req);
    return m.allow ? allow_by(*m.allow, req) : default_deny(req);
}

}  // namespace vigil
