#include "status_report.h"

#include <fmt/format.h>

#include "stale_signals.h"
#include "timestamp.h"

namespace vigil {
namespace {

using Json = nlohmann::ordered_json;

Json time_or_null(const std::optional<HealthSnapshot::Time>& t) { return t ? Json(rfc3339(*t)) : Json(nullptr); }

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warning: return "warning";
        case LogLevel::Error: return "error";
    }
    return "?";
}

bool every_circuit_open(const StatusFacts& f) {
    if (f.circuits.empty()) return false;
    for (const auto& [url, state] : f.circuits) {
        if (state != "open") return false;
    }
    return true;
}

Json pdp_json(const StatusFacts& f) {
    bool configured = f.pdp_protocol != "local";
    Json j = {{"configured", configured}, {"protocol", f.pdp_protocol}};
    if (!configured) return j;
    Json endpoints = Json::array();
    for (const auto& [url, state] : f.circuits) endpoints.push_back({{"url", url}, {"circuit", state}});
    const HealthSnapshot& h = f.health;
    const char* reachable = h.pdp_failing() || every_circuit_open(f) ? "no" : h.pdp_last_success ? "yes" : "unknown";
    j["endpoints"] = endpoints;
    if (f.pdp_calls) {
        j["calls"] = {
            {"made", f.pdp_calls->made}, {"batches", f.pdp_calls->batches}, {"waiting", f.pdp_calls->waiting}};
    }
    j["reachable"] = reachable;
    j["last_success"] = time_or_null(h.pdp_last_success);
    j["last_failure"] = time_or_null(h.pdp_last_failure);
    if (!h.pdp_last_error.empty()) j["last_error"] = h.pdp_last_error;
    if (!h.pdp_policy_version.empty()) j["policy_version"] = h.pdp_policy_version;
    return j;
}

std::vector<std::string> problems(const StatusFacts& f, const std::vector<std::string>& stale) {
    std::vector<std::string> out;
    const HealthSnapshot& h = f.health;
    if (f.pdp_protocol != "local" && h.pdp_failing()) {
        out.push_back("pdp: the last call gave no usable answer (" + h.pdp_last_error + ")");
    }
    if (f.pdp_protocol != "local" && every_circuit_open(f)) out.push_back("pdp: every endpoint's circuit is open");
    if (!stale.empty())
        out.push_back(fmt::format("posture: {} signal(s) stale: {}", stale.size(), fmt::join(stale, ", ")));
    if (h.audit_failing) out.push_back("audit: the last write to the trail failed (" + h.audit_last_error + ")");
    if (f.sudo.approval == "plugin" && !f.sudo.plugin_loads) {
        out.push_back("sudo: [sudo] approval = \"plugin\", but " + f.sudo.problem +
                      ": every sudo is refused at its session (vigilctl sudo-plugin enable)");
    }
    return out;
}

Json rollout_json(const StatusFacts& f) {
    Json services = Json::object();
    for (const auto& [service, mode] : f.service_modes) services[service] = mode;
    return {{"mode", f.default_mode}, {"services", services}, {"would_deny_last_hour", f.health.would_deny_last_hour}};
}

Json sudo_json(const StatusFacts::Sudo& s) {
    return {{"approval", s.approval},
            {"sudo_conf", s.sudo_conf},
            {"plugin_loaded", s.plugin_loads},
            {"plugin", s.plugin},
            {"problem", s.problem}};
}

Json break_glass_json(const HealthSnapshot& h) {
    Json recent = Json::array();
    for (const BreakGlassNote& n : h.break_glass) {
        recent.push_back({{"time", rfc3339(n.at)}, {"user", n.user}, {"service", n.service}, {"why", n.why}});
    }
    return {{"total", h.break_glass_total}, {"recent", recent}};
}

}  // namespace

Json build_status(const StatusFacts& f) {
    std::vector<std::string> stale = stale_signals(f.signals, f.now, f.default_max_age);
    std::vector<std::string> found = problems(f, stale);
    Json recent = Json::array();
    for (const LoggedProblem& p : f.recent_problems) {
        recent.push_back({{"time", rfc3339(p.at)}, {"level", level_name(p.level)}, {"text", p.text}});
    }
    return {
        {"healthy", found.empty()},
        {"problems", found},
        {"vigild",
         {{"version", f.version},
          {"uptime_seconds", f.uptime.count()},
          {"answered", f.answered},
          {"config", f.config_path},
          {"policy_version", f.policy_version}}},
        {"pdp", pdp_json(f)},
        {"posture", {{"signals", f.signals.size()}, {"stale", stale}}},
        {"sessions", {{"live", f.sessions}}},
        {"grants", {{"live", f.grants}}},
        {"audit", {{"failing", f.health.audit_failing}, {"last_failure", time_or_null(f.health.audit_last_failure)}}},
        {"metrics", {{"textfile", f.health.metrics_textfile}, {"error", f.health.metrics_error}}},
        {"rollout", rollout_json(f)},
        {"sudo", sudo_json(f.sudo)},
        {"break_glass", break_glass_json(f.health)},
        {"recent_problems", recent},
    };
}

namespace {

std::string text(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string pdp_line(const nlohmann::json& p) {
    if (!p.value("configured", false)) return "not configured (local rules decide)";
    std::string out = text(p, "protocol") + ", reachable: " + text(p, "reachable");
    for (const auto& e : p["endpoints"])
        out += fmt::format("\n           {} (circuit {})", text(e, "url"), text(e, "circuit"));
    if (auto c = p.find("calls"); c != p.end() && c->is_object()) {
        out += fmt::format("\n           calls: {} made, {} of them batches; {} question(s) waiting",
                           c->value("made", 0), c->value("batches", 0), c->value("waiting", 0));
    }
    std::string ok = text(p, "last_success"), bad = text(p, "last_failure");
    out += "\n           last answer: " + (ok.empty() ? "never" : ok);
    out += ", last failure: " + (bad.empty() ? "never" : bad + " (" + text(p, "last_error") + ")");
    if (!text(p, "policy_version").empty()) out += "\n           pdp policy: " + text(p, "policy_version");
    return out;
}

std::string posture_line(const nlohmann::json& p) {
    size_t n = p.value("signals", 0), stale = p["stale"].size();
    if (n == 0) return "no signals";
    if (stale == 0) return fmt::format("{} signal(s), all fresh", n);
    std::vector<std::string> names = p["stale"].get<std::vector<std::string>>();
    return fmt::format("{} signal(s), {} stale: {}", n, stale, fmt::join(names, ", "));
}

std::string rollout_line(const nlohmann::json& r) {
    if (!r.is_object()) return "?";
    std::string out = text(r, "mode");
    for (const auto& item : r["services"].items()) {
        out += fmt::format(", {}: {}", item.key(), item.value().get<std::string>());
    }
    uint64_t would = r.value("would_deny_last_hour", uint64_t{0});
    bool reporting = text(r, "mode") == "report" || r["services"].dump().find("report") != std::string::npos;
    if (reporting || would > 0) out += fmt::format("; {} would-be denies in the last hour", would);
    return out;
}

std::string sudo_line(const nlohmann::json& s) {
    if (!s.is_object()) return "?";
    std::string out = "approval " + text(s, "approval") + "; ";
    if (s.value("plugin_loaded", false)) return out + text(s, "sudo_conf") + " loads " + text(s, "plugin");
    return out + "plugin not loaded (" + text(s, "problem") + ")";
}

std::string break_glass_lines(const nlohmann::json& b) {
    if (!b.is_object() || b.value("total", 0) == 0) return "break-glass: no use since vigild started\n";
    std::string out = fmt::format("break-glass: {} use(s) since vigild started; latest:\n", text(b, "total"));
    for (const auto& u : b["recent"]) {
        out +=
            fmt::format("  {} {} for {} ({})\n", text(u, "time"), text(u, "user"), text(u, "service"), text(u, "why"));
    }
    return out;
}

}  // namespace

std::string render_status(const nlohmann::json& s) {
    const auto& v = s["vigild"];
    std::string out = fmt::format("status:    {}\n", s.value("healthy", false) ? "healthy" : "UNHEALTHY");
    for (const auto& p : s["problems"]) out += fmt::format("  problem: {}\n", p.get<std::string>());
    out += fmt::format("vigild:    {} running for {}s, {} requests answered\n", text(v, "version"),
                       text(v, "uptime_seconds"), text(v, "answered"));
    out += fmt::format("config:    {}\npolicy:    {}\n", text(v, "config"), text(v, "policy_version"));
    out += fmt::format("pdp:       {}\n", pdp_line(s["pdp"]));
    out += fmt::format("posture:   {}\n", posture_line(s["posture"]));
    out +=
        fmt::format("sessions:  {} live\ngrants:    {} live\n", text(s["sessions"], "live"), text(s["grants"], "live"));
    out += fmt::format("audit:     {}\n", s["audit"].value("failing", false) ? "last write FAILED" : "ok");
    std::string textfile = text(s["metrics"], "textfile");
    std::string metrics_error = text(s["metrics"], "error");
    if (!metrics_error.empty()) textfile += " (last write failed: " + metrics_error + ")";
    out += fmt::format("metrics:   {}\n", textfile.empty() ? "off" : textfile);
    out += fmt::format("rollout:   {}\n", rollout_line(s.value("rollout", nlohmann::json())));
    out += fmt::format("sudo:      {}\n", sudo_line(s.value("sudo", nlohmann::json())));
    out += break_glass_lines(s.value("break_glass", nlohmann::json()));
    const auto& recent = s["recent_problems"];
    if (recent.empty()) return out + "recent warnings and errors: none\n";
    out += "recent warnings and errors (oldest first):\n";
    for (const auto& p : recent) {
        out += fmt::format("  {} {:<7} {}\n", text(p, "time"), text(p, "level"), text(p, "text"));
    }
    return out;
}

}  // namespace vigil
