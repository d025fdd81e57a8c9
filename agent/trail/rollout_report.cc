#include "rollout_report.h"

#include <fmt/format.h>

#include <map>
#include <set>

namespace vigil {
namespace {

using Json = nlohmann::ordered_json;
using Counts = std::map<std::string, uint64_t>;

std::string str(const nlohmann::json& r, const char* key) {
    auto it = r.find(key);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Json counts_json(const Counts& c) {
    Json j = Json::object();
    for (const auto& [k, n] : c) j[k.empty() ? "(none)" : k] = n;
    return j;
}

struct Tally {
    uint64_t decisions = 0;  // report-mode decisions
    Counts outcomes, rules, services, users, reasons;
    std::map<std::string, std::pair<uint64_t, uint64_t>> per_user;  // user: (requests, would be denied)
    uint64_t pdp_errors = 0;
    Counts pdp_error_kinds;
    uint64_t break_glass = 0;
    uint64_t unreadable = 0;
    std::string first, last;

    void add(const nlohmann::json& r) {
        std::string event = str(r, "event");
        if (event == "break_glass") ++break_glass;
        if (auto p = r.find("pdp"); p != r.end() && p->is_object() && p->contains("error")) {
            ++pdp_errors;
            ++pdp_error_kinds[str(*p, "error_kind")];
        }
        if (str(r, "mode") != "report") return;
        ++decisions;
        std::string outcome = str(r, "outcome"), user = str(r, "user");
        ++outcomes[outcome];
        // Locked out: refused at every access decision (a session opening
        // is filed under its account decision, and allowed either way).
        std::string phase = str(r, "phase");
        if (phase == "account" || phase == "auth") {
            auto& u = per_user[user];
            ++u.first;
            if (outcome == "would_deny") ++u.second;
        }
        if (outcome == "allow") return;
        ++rules[str(r, "rule")];
        ++services[str(r, "service")];
        ++users[user];
        ++reasons[str(r, "reason_admin")];
    }
};

}  // namespace

Json summarize_rollout(std::istream& trail, const std::string& since) {
    Tally t;
    std::string line;
    while (std::getline(trail, line)) {
        auto r = nlohmann::json::parse(line, nullptr, false);
        if (r.is_discarded() || !r.is_object()) {
            ++t.unreadable;
            continue;
        }
        std::string time = str(r, "time");
        if (time < since) continue;
        if (t.first.empty()) t.first = time;
        t.last = time;
        t.add(r);
    }
    Json locked_out = Json::array();
    for (const auto& [user, n] : t.per_user) {
        if (n.first > 0 && n.first == n.second) locked_out.push_back(user);
    }
    return {
        {"since", since},
        {"first", t.first},
        {"last", t.last},
        {"report_mode_decisions", t.decisions},
        {"outcomes", counts_json(t.outcomes)},
        {"would_be_refused",
         {{"by_rule", counts_json(t.rules)},
          {"by_service", counts_json(t.services)},
          {"by_user", counts_json(t.users)},
          {"by_reason", counts_json(t.reasons)}}},
        {"locked_out", locked_out},
        {"pdp_errors", {{"total", t.pdp_errors}, {"by_kind", counts_json(t.pdp_error_kinds)}}},
        {"break_glass", t.break_glass},
        {"unreadable_lines", t.unreadable},
    };
}

namespace {

std::string counts_lines(const char* title, const nlohmann::json& c) {
    if (c.empty()) return "";
    std::string out = fmt::format("{}:\n", title);
    for (const auto& item : c.items()) out += fmt::format("  {:>6}  {}\n", item.value().get<uint64_t>(), item.key());
    return out;
}

}  // namespace

std::string render_rollout(const Json& r) {
    std::string out = fmt::format("since {}: {} report-mode decision(s)\n", r["since"].get<std::string>(),
                                  r["report_mode_decisions"].get<uint64_t>());
    out += counts_lines("outcomes", r["outcomes"]);
    const auto& w = r["would_be_refused"];
    out += counts_lines("would be refused, by rule", w["by_rule"]);
    out += counts_lines("by service", w["by_service"]);
    out += counts_lines("by user", w["by_user"]);
    out += counts_lines("by reason", w["by_reason"]);
    std::string locked;
    for (const auto& u : r["locked_out"]) locked += (locked.empty() ? "" : ", ") + u.get<std::string>();
    out += fmt::format("locked out (every request would have been denied): {}\n", locked.empty() ? "nobody" : locked);
    out += fmt::format("pdp errors: {}\n", r["pdp_errors"]["total"].get<uint64_t>());
    out += fmt::format("break-glass uses: {}\n", r["break_glass"].get<uint64_t>());
    if (r["unreadable_lines"].get<uint64_t>() > 0) {
        out += fmt::format("unreadable trail lines: {}\n", r["unreadable_lines"].get<uint64_t>());
    }
    return out;
}

}  // namespace vigil
