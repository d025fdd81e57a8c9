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

}  // namespace

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
           from_matches(rule, req.rhost);
}

}  // namespace vigil
