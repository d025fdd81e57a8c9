#include "grant_list_report.h"

#include <fmt/format.h>

#include "terminal_text.h"

namespace vigil {
namespace {

// A field as text a terminal shows as is; "" when absent.
std::string shown(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return escape_for_terminal(it->is_string() ? it->get<std::string>() : it->dump());
}

std::string row(const std::string& id, const std::string& what, const std::string& user, const std::string& until,
                const std::string& session, const std::string& reason) {
    return fmt::format("{:<28} {:<20} {:<14} {:<22} {:<32} {}\n", id, what, user, until, session, reason);
}

}  // namespace

std::string render_grant_list(const nlohmann::json& answer) {
    auto grants = answer.find("grants");
    if (grants == answer.end() || !grants->is_array() || grants->empty()) return "no live grants\n";
    std::string out = row("GRANT", "GROUP|ACCOUNT", "USER", "UNTIL", "BOUND TO SESSION", "REASON");
    for (const auto& g : *grants) {
        if (!g.is_object()) continue;
        std::string session = shown(g, "session").empty() ? "-" : shown(g, "session");
        std::string what = shown(g, "account").empty() ? shown(g, "group") : "account:" + shown(g, "account");
        out += row(shown(g, "id"), what, shown(g, "user"), shown(g, "expires_at"), session, shown(g, "reason"));
    }
    return out;
}

}  // namespace vigil
