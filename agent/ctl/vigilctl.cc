// vigilctl: the admin's view into vigild.
//
//   vigilctl decide --user alice --service sshd --rhost 10.0.0.5   # dry run via vigild
//   vigilctl decide --config /etc/vigil/vigil.toml --user alice --service sudo   # offline
//   vigilctl audit verify [/var/log/vigil/audit.jsonl]
//   vigilctl status [--json]                 # health; exit 3 when unhealthy
//   vigilctl totp enroll alice [--force]      # root: prints the otpauth:// URI and a QR code
//   vigilctl sudo-plugin enable               # root: vigil_sudo.so into /etc/sudo.conf, checked
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "audit_log.h"
#include "config.h"
#include "dry_run_command.h"
#include "duration.h"
#include "engine.h"
#include "frame_io.h"
#include "grant_list_report.h"
#include "rollout_report.h"
#include "rule.h"
#include "status_report.h"
#include "sudo_conf.h"
#include "sudo_plugin_setup.h"
#include "terminal_qr.h"
#include "terminal_text.h"
#include "timestamp.h"
#include "totp_store.h"
#include "unix_listener.h"

namespace vigil {
namespace {

constexpr std::chrono::seconds kAdminTimeout{10};
constexpr const char* kDefaultAuditLog = "/var/log/vigil/audit.jsonl";
constexpr const char* kDefaultConfig = "/etc/vigil/vigil.toml";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: vigilctl [--socket PATH] COMMAND\n"
                 "  decide --user U --service S [--rhost IP] [--tty T] [--json] [--config FILE]\n"
                 "         [--command \"CMD ARGS\" [--runas USER]]\n"
                 "      explain what vigild decides for such a request (a dry run: nothing\n"
                 "      is audited). With --config, evaluate FILE here without the agent.\n"
                 "      With --command (service sudo), decide that command as sudo's approval\n"
                 "      plugin would ask about it, run as USER (default root).\n"
                 "  audit verify [FILE]\n"
                 "      check the hash chain of the decision trail (default %s)\n"
                 "  report [--since DURATION] [--json] [--trail FILE]\n"
                 "      what enforcement would have done ([rollout] mode = \"report\"), from the\n"
                 "      trail: would-be denies and step-ups by rule, service, user and reason,\n"
                 "      who would have been locked out, PDP errors, break-glass uses\n"
                 "      (default: the last 24h)\n"
                 "  status [--json]\n"
                 "      health: PDP, posture, sessions, grants, trail, recent errors;\n"
                 "      exit 0 healthy, 3 unhealthy, 1 vigild not answering\n"
                 "  ping [--json]\n"
                 "      is vigild answering, and with which policy\n"
                 "  posture [--json]\n"
                 "      the host's posture signals as vigild sees them, with ages and sources\n"
                 "  grant request --group G|--account A --for DURATION --reason TEXT [--bind]\n"
                 "                [--grant-socket PATH]\n"
                 "      ask for membership of G, or the ephemeral account A, for a while (any\n"
                 "      user; decided as service \"elevate\" by the rules or the PDP; served by\n"
                 "      libnss_vigil);\n"
                 "      --bind: it also ends when the session you ask from ends\n"
                 "  grant list [--json]\n"
                 "      the live grants (root)\n"
                 "  sessions [--json]\n"
                 "      the live sessions vigild watches: who, since, limits, next re-evaluation\n"
                 "  revoke SESSION | --user USER [--reason TEXT]\n"
                 "      end a session (or every session of USER) now; the trail records it\n"
                 "  totp enroll USER [--force] [--config FILE]\n"
                 "      create USER's TOTP secret and print it as an otpauth:// URI and a QR\n"
                 "      code; --force replaces an existing one (root; config default %s)\n"
                 "  totp remove USER [--config FILE]\n"
                 "      delete USER's TOTP secret\n"
                 "  totp status USER [--config FILE]\n"
                 "      enrolled or not, failures in a row, locked until when\n"
                 "  sudo-plugin enable [--options \"timeout=3000 failmode=secure\"] [--plugin PATH]\n"
                 "      name vigil_sudo.so in /etc/sudo.conf, once checked: refused for sudo-rs\n"
                 "      and sudo < 1.9, and for a file sudo would not load; the old file comes\n"
                 "      back unless sudo -V then shows the plugin (root)\n"
                 "  sudo-plugin disable | status\n"
                 "      take the line out again; say whether sudo loads the plugin (exit 3: no)\n"
                 "      (both take --sudo-conf FILE, default %s)\n"
                 "  --socket PATH   vigild's admin socket (default %s)\n",
                 kDefaultAuditLog, kDefaultConfig, kSudoConf, wire::kDefaultAdminSocket);
}

// --name value pairs and bare flags after the command word.
struct Args {
    std::map<std::string, std::string> values;
    std::vector<std::string> positional;
    bool json = false;
    bool force = false;
    bool bind = false;
};

Result<Args> parse_flags(const std::vector<std::string>& words) {
    Args a;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "--json") {
            a.json = true;
        } else if (w == "--force") {
            a.force = true;
        } else if (w == "--bind") {
            a.bind = true;
        } else if (w.rfind("--", 0) == 0) {
            if (i + 1 >= words.size()) return err(w + " needs a value");
            a.values[w.substr(2)] = words[++i];
        } else {
            a.positional.push_back(w);
        }
    }
    return a;
}

Result<nlohmann::json> ask_admin(const std::string& socket, wire::Kind kind, const nlohmann::json& q) {
    auto fd = connect_unix(socket);
    if (!fd) return err(fd.error().message + " (is vigild running? are you root?)");
    std::string text = q.dump();
    auto frame = build_frame(kind, {{wire::Tag::Json, text}});
    if (!frame) return frame.error();
    if (auto s = write_frame(fd->get(), *frame, kAdminTimeout); !s) return s.error();
    auto answer = read_frame(fd->get(), kAdminTimeout);
    if (!answer) return err("vigild did not answer: " + answer.error().message);
    if (!*answer) return err("vigild closed the connection without an answer");
    const Frame* reply = &**answer;
    if (reply->kind != static_cast<uint16_t>(wire::answer_to(kind))) return err("unexpected answer kind");
    wire::Reader r(reply->payload.data(), reply->payload.size());
    wire::Tag tag{};
    std::string_view v;
    while (r.next(tag, v)) {
        if (tag == wire::Tag::Json) {
            auto j = nlohmann::json::parse(v, nullptr, false);
            if (!j.is_discarded()) return j;
        }
    }
    return err("malformed answer from vigild");
}

std::string field(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// "pdp (cerbos at http://127.0.0.1:3592, 2.4 ms, policy resource.host.vdefault)"
std::string decided_by(const nlohmann::json& r) {
    std::string path = field(r, "path");
    if (!r.contains("pdp") || !r["pdp"].is_object()) return path;
    const auto& p = r["pdp"];
    std::string out = path + " (" + field(p, "protocol");
    if (!field(p, "url").empty()) out += " at " + field(p, "url");
    if (p.contains("latency_us"))
        out += ", " + std::to_string(p["latency_us"].get<int64_t>() / 1000.0).substr(0, 5) + " ms";
    if (!field(p, "policy_version").empty()) out += ", policy " + field(p, "policy_version");
    if (!field(p, "error").empty()) out += ", error " + field(p, "error_kind") + ": " + field(p, "error");
    return out + ")";
}

void print_explanation(const nlohmann::json& r) {
    auto line = [](const char* k, const std::string& v) {
        if (!v.empty()) std::printf("%-10s %s\n", k, v.c_str());
    };
    line("outcome:", field(r, "outcome"));
    if (r.contains("sudo") && r["sudo"].is_object() && r.contains("command") && r["command"].is_array()) {
        std::string words;
        for (const auto& w : r["command"])
            words += (words.empty() ? "" : " ") + (w.is_string() ? w.get<std::string>() : "");
        line("command:", words + " (" + field(r["sudo"], "path") + ", as " + field(r["sudo"], "runas_user") + ")");
    }
    if (field(r, "mode") == "report") line("mode:", "report (recorded, not enforced: the module passes)");
    line("rule:", field(r, "rule").empty() ? "(none matched)" : field(r, "rule"));
    line("user sees:", field(r, "reason_user"));
    line("why:", field(r, "reason_admin"));
    if (r.contains("session_max_seconds")) {
        line("session:", "at most " + format_duration(std::chrono::seconds(r["session_max_seconds"].get<int64_t>())));
    }
    if (r.contains("session_idle_seconds")) {
        line("idle:", "ends after " + format_duration(std::chrono::seconds(r["session_idle_seconds"].get<int64_t>())) +
                          " without input");
    }
    if (r.contains("groups")) {
        std::string g;
        for (auto& x : r["groups"]) g += (g.empty() ? "" : ", ") + x.get<std::string>();
        line("groups:", g.empty() ? "(none)" : g);
    }
    line("signals:", r.contains("signals") && !r["signals"].empty() ? r["signals"].dump() : "(none used)");
    line("decided:", decided_by(r));
    line("policy:", field(r, "policy_version"));
}

int cmd_decide(const std::string& socket, const Args& a) {
    auto user = a.values.find("user"), service = a.values.find("service");
    if (user == a.values.end() || service == a.values.end()) {
        std::fprintf(stderr, "vigilctl decide: --user and --service are required\n");
        return 2;
    }
    auto get = [&](const char* k) {
        auto it = a.values.find(k);
        return it == a.values.end() ? "" : it->second;
    };
    std::string command = get("command");
    if (!command.empty() && !is_sudo_service(service->second)) {
        std::fprintf(stderr, "vigilctl decide: --command is for --service sudo\n");
        return 2;
    }
    if (command.empty() && a.values.count("runas")) {
        std::fprintf(stderr, "vigilctl decide: --runas goes with --command\n");
        return 2;
    }
    char here[4096];
    std::string cwd = getcwd(here, sizeof here) ? here : "";
    nlohmann::json result;
    if (auto cfg = a.values.find("config"); cfg != a.values.end()) {
        auto config = load_config(cfg->second);
        if (!config) return std::fprintf(stderr, "%s\n", config.error().message.c_str()), 1;
        auto engine = Engine::create(std::make_shared<const Config>(std::move(*config)), nullptr, nullptr, nullptr);
        if (!engine) return std::fprintf(stderr, "%s\n", engine.error().message.c_str()), 1;
        Request q = dry_run_request(user->second, service->second, get("rhost"), get("tty"));
        if (!command.empty()) {
            if (auto added = add_dry_run_command(q, command, get("runas"), cwd); !added) {
                return std::fprintf(stderr, "vigilctl decide: %s\n", added.error().message.c_str()), 2;
            }
        }
        result = nlohmann::json::parse(json_text((*engine)->decide(q)));
    } else {
        nlohmann::json q = {
            {"user", user->second}, {"service", service->second}, {"rhost", get("rhost")}, {"tty", get("tty")}};
        if (!command.empty()) q["command"] = command, q["runas"] = get("runas"), q["cwd"] = cwd;
        auto r = ask_admin(socket, wire::Kind::AdminDecide, q);
        if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
        result = *r;
    }
    if (a.json) {
        std::printf("%s\n", result.dump(2).c_str());
    } else {
        print_explanation(result);
    }
    return 0;
}

int cmd_audit(const Args& a) {
    if (a.positional.empty() || a.positional[0] != "verify") {
        std::fprintf(stderr, "vigilctl audit: want 'verify [FILE]'\n");
        return 2;
    }
    std::string path = a.positional.size() > 1 ? a.positional[1] : kDefaultAuditLog;
    AuditVerdict v = verify_audit_file(path);
    if (v.ok) {
        std::printf("ok: %zu records, chain intact (%s)\n", v.records, path.c_str());
        return 0;
    }
    if (v.bad_line == 0) {
        std::fprintf(stderr, "vigilctl audit verify: %s\n", v.problem.c_str());
        return 2;
    }
    std::printf("BROKEN: %s:%zu: %s\n", path.c_str(), v.bad_line, v.problem.c_str());
    return 1;
}

int cmd_report(const Args& a) {
    auto since = parse_duration(a.values.count("since") ? a.values.at("since") : "24h");
    if (!since) return std::fprintf(stderr, "vigilctl report: --since: %s\n", since.error().message.c_str()), 2;
    std::string path = a.values.count("trail") ? a.values.at("trail") : kDefaultAuditLog;
    std::ifstream trail(path);
    if (!trail) return std::fprintf(stderr, "vigilctl report: cannot read %s\n", path.c_str()), 1;
    auto report = summarize_rollout(trail, rfc3339(std::chrono::system_clock::now() - *since));
    if (a.json) {
        std::printf("%s\n", report.dump(2).c_str());
    } else {
        std::fputs(render_rollout(report).c_str(), stdout);
    }
    return 0;
}

// Exit status: 0 healthy, 3 answering but unhealthy (status_report.h says
// when), 1 not answering.
int cmd_status(const std::string& socket, const Args& a) {
    auto r = ask_admin(socket, wire::Kind::AdminStatus, nlohmann::json::object());
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    if (a.json) {
        std::printf("%s\n", r->dump(2).c_str());
    } else {
        std::fputs(render_status(*r).c_str(), stdout);
    }
    return r->value("healthy", false) ? 0 : 3;
}

int cmd_ping(const std::string& socket, const Args& a) {
    auto r = ask_admin(socket, wire::Kind::AdminPing, nlohmann::json::object());
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    if (a.json) {
        std::printf("%s\n", r->dump(2).c_str());
    } else {
        std::printf("vigild:   %s\npolicy:   %s\nuptime:   %ss\nanswered: %s\n", field(*r, "status").c_str(),
                    field(*r, "policy_version").c_str(), field(*r, "uptime_seconds").c_str(),
                    field(*r, "answered").c_str());
    }
    return 0;
}

int cmd_posture(const std::string& socket, const Args& a) {
    auto r = ask_admin(socket, wire::Kind::AdminPosture, nlohmann::json::object());
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    if (a.json) {
        std::printf("%s\n", r->dump(2).c_str());
        return 0;
    }
    const auto& signals = (*r)["signals"];
    if (signals.empty()) {
        std::printf("no posture signals (is a collector configured under [posture]?)\n");
        return 0;
    }
    int64_t default_max_age = r->value("max_age_seconds", 0);
    std::printf("%-48s %-14s %9s  %s\n", "SIGNAL", "VALUE", "AGE", "SOURCE");
    for (const auto& sig : signals) {
        int64_t age = sig.value("age_ms", 0);
        int64_t max_age_ms = sig.value("max_age_seconds", default_max_age) * 1000;
        std::printf("%-48s %-14s %8.1fs  %s%s\n", field(sig, "name").c_str(), field(sig, "value").c_str(), age / 1000.0,
                    field(sig, "source").c_str(), age > max_age_ms ? "  (stale)" : "");
    }
    return 0;
}

// "JBSW Y3DP EHPK ..." for typing into an app that cannot scan; printed
// straight from the Secret so no unwiped copy is left behind.
void print_grouped(std::string_view key) {
    for (size_t i = 0; i < key.size(); i += 4) {
        std::string_view group = key.substr(i, 4);
        std::printf("%s%.*s", i ? " " : "", static_cast<int>(group.size()), group.data());
    }
    std::printf("\n");
}

int totp_enroll(TotpStore& store, const TotpSettings& s, const std::string& user, bool force) {
    if (valid_totp_user(user) && getpwnam(user.c_str()) == nullptr) {
        std::fprintf(stderr, "vigilctl totp: warning: no user %s in the passwd database\n", user.c_str());
    }
    if (!force && store.enrolled(user)) {
        std::fprintf(stderr, "vigilctl totp enroll: %s is already enrolled; use --force to replace the secret\n",
                     user.c_str());
        return 1;
    }
    auto e = store.enroll(user, force);
    if (!e) return std::fprintf(stderr, "vigilctl totp enroll: %s\n", e.error().message.c_str()), 1;
    std::printf("Scan this QR code with %s's authenticator app:\n\n", user.c_str());
    if (auto qr = terminal_qr(e->uri); qr) {
        std::printf("%s\n\n", qr->c_str());
    } else {
        std::fprintf(stderr, "vigilctl totp: no QR code: %s\n", qr.error().message.c_str());
    }
    std::printf("%s\n\nOr enter this key by hand: ", e->uri.c_str());
    print_grouped(e->secret_base32.reveal());
    std::printf("(%u digits, every %llds, time-based, SHA1; stored in %s/%s)\n", s.digits,
                static_cast<long long>(s.period.count()), s.store_dir.c_str(), user.c_str());
    return 0;
}

int totp_status(const TotpStore& store, const std::string& user, std::chrono::seconds period) {
    auto st = store.status(user);
    if (!st) return std::fprintf(stderr, "vigilctl totp status: %s\n", st.error().message.c_str()), 1;
    bool locked = st->locked_until > std::chrono::system_clock::now();
    std::printf("user:      %s\nenrolled:  %s\n", user.c_str(), st->enrolled ? "yes" : "no");
    if (!st->enrolled) return 0;
    std::string until = locked ? "until " + rfc3339(st->locked_until) : "no";
    std::printf("failures:  %u in a row\nlocked:    %s\n", st->failures, until.c_str());
    auto last = std::chrono::system_clock::time_point(period * static_cast<int64_t>(st->last_step));
    std::printf("last code: %s\n", st->last_step ? rfc3339(last).c_str() : "never accepted");
    return 0;
}

int cmd_totp(const Args& a) {
    if (a.positional.size() != 2) {
        std::fprintf(stderr, "vigilctl totp: want 'enroll|remove|status USER'\n");
        return 2;
    }
    const std::string &verb = a.positional[0], &user = a.positional[1];
    if (verb != "enroll" && verb != "remove" && verb != "status") {
        std::fprintf(stderr, "vigilctl totp: unknown subcommand %s; want enroll, remove or status\n", verb.c_str());
        return 2;
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "vigilctl totp: must run as root: the TOTP secret store is root-only\n");
        return 1;
    }
    auto it = a.values.find("config");
    auto config = load_config(it == a.values.end() ? kDefaultConfig : it->second);
    if (!config) return std::fprintf(stderr, "%s\n", config.error().message.c_str()), 1;
    const TotpSettings& s = config->step_up.totp;
    TotpStore store(s);
    if (verb == "enroll") return totp_enroll(store, s, user, a.force);
    if (verb == "status") return totp_status(store, user, s.period);
    if (auto r = store.remove(user); !r) {
        return std::fprintf(stderr, "vigilctl totp remove: %s\n", r.error().message.c_str()), 1;
    }
    std::printf("removed %s's TOTP secret from %s\n", user.c_str(), s.store_dir.c_str());
    return 0;
}

std::string flag(const Args& a, const char* name) {
    auto it = a.values.find(name);
    return it == a.values.end() ? "" : it->second;
}

int cmd_grant_request(const std::string& grant_socket, const Args& a) {
    std::string group = flag(a, "group"), account = flag(a, "account"), length = flag(a, "for");
    std::string reason = flag(a, "reason");
    if (group.empty() == account.empty() || length.empty()) {
        return std::fprintf(stderr, "vigilctl grant request: --group or --account, and --for, are required\n"), 2;
    }
    auto d = parse_duration(length);
    if (!d) return std::fprintf(stderr, "vigilctl grant request: --for: %s\n", d.error().message.c_str()), 2;
    std::string path = flag(a, "grant-socket").empty() ? grant_socket : flag(a, "grant-socket");
    nlohmann::json q = {{"seconds", d->count()}, {"reason", reason}};
    q[account.empty() ? "group" : "account"] = account.empty() ? group : account;
    if (a.bind) q["bind"] = true;
    auto r = ask_admin(path, wire::Kind::GrantRequest, q);
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    // What vigild says may carry a PDP's words: shown, never obeyed.
    auto shown = [&](const char* key) { return escape_for_terminal(field(*r, key)); };
    if (!r->value("granted", false)) {
        return std::fprintf(stderr, "vigilctl: denied: %s\n", shown("reason").c_str()), 1;
    }
    if (!field(*r, "account").empty()) {
        std::printf("granted account %s to %s until %s (grant %s)\n", shown("account").c_str(), shown("user").c_str(),
                    shown("expires_at").c_str(), shown("id").c_str());
    } else {
        std::printf("granted %s to %s until %s (grant %s)\n", shown("group").c_str(), shown("user").c_str(),
                    shown("expires_at").c_str(), shown("id").c_str());
    }
    if (!field(*r, "session").empty()) {
        std::printf("bound to session %s: it ends when the session does\n", shown("session").c_str());
    }
    return 0;
}

int cmd_grant_list(const std::string& socket, const Args& a) {
    auto r = ask_admin(socket, wire::Kind::AdminGrants, nlohmann::json::object());
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    if (a.json) {
        std::printf("%s\n", r->dump(2).c_str());
        return 0;
    }
    std::fputs(render_grant_list(*r).c_str(), stdout);
    return 0;
}

int cmd_sudo_plugin(const Args& a) {
    if (a.positional.size() != 1) {
        std::fprintf(stderr, "vigilctl sudo-plugin: want 'enable|disable|status'\n");
        return 2;
    }
    SudoPluginSetup s{a.positional[0], flag(a, "sudo-conf"), flag(a, "plugin"), flag(a, "options")};
    if (s.sudo_conf.empty()) s.sudo_conf = kSudoConf;
    if (s.plugin.empty()) s.plugin = kSudoPluginPath;
    return run_sudo_plugin_setup(s);
}

int cmd_grant(const std::string& socket, const std::string& grant_socket, const Args& a) {
    std::string sub = a.positional.empty() ? "" : a.positional[0];
    if (sub == "request") return cmd_grant_request(grant_socket, a);
    if (sub == "list") return cmd_grant_list(socket, a);
    return std::fprintf(stderr, "vigilctl grant: request or list\n"), 2;
}

int cmd_sessions(const std::string& socket, const Args& a) {
    auto r = ask_admin(socket, wire::Kind::AdminSessions, nlohmann::json::object());
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    if (a.json) {
        std::printf("%s\n", r->dump(2).c_str());
        return 0;
    }
    const auto& sessions = (*r)["sessions"];
    if (sessions.empty()) {
        std::printf("no live sessions\n");
        return 0;
    }
    std::printf("%-32s %-14s %-8s %-15s %-20s %-20s %-8s %s\n", "SESSION", "USER", "SERVICE", "FROM", "SINCE", "ENDS",
                "IDLE", "NEXT RE-EVALUATION");
    for (const auto& s : sessions) {
        std::string from = field(s, "rhost").empty() ? field(s, "tty") : field(s, "rhost");
        std::string idle = s.contains("idle_max_seconds")
                               ? format_duration(std::chrono::seconds(s["idle_max_seconds"].get<int64_t>()))
                               : "-";
        std::printf("%-32s %-14s %-8s %-15s %-20s %-20s %-8s %s\n", field(s, "id").c_str(), field(s, "user").c_str(),
                    field(s, "service").c_str(), from.c_str(), field(s, "opened_at").c_str(),
                    field(s, "ends_at").empty() ? "-" : field(s, "ends_at").c_str(), idle.c_str(),
                    field(s, "next_reevaluation").empty() ? "-" : field(s, "next_reevaluation").c_str());
    }
    return 0;
}

int cmd_revoke(const std::string& socket, const Args& a) {
    nlohmann::json q = nlohmann::json::object();
    if (auto u = a.values.find("user"); u != a.values.end())
        q["user"] = u->second;
    else if (a.positional.size() == 1)
        q["id"] = a.positional[0];
    else
        return std::fprintf(stderr, "vigilctl revoke: give a session id or --user USER\n"), 2;
    if (auto why = a.values.find("reason"); why != a.values.end()) q["reason"] = why->second;
    auto r = ask_admin(socket, wire::Kind::AdminRevoke, q);
    if (!r) return std::fprintf(stderr, "vigilctl: %s\n", r.error().message.c_str()), 1;
    int n = r->value("revoked", 0);
    std::printf("%d session(s) being ended\n", n);
    return n > 0 ? 0 : 1;
}

int run(int argc, char** argv) {
    std::string socket = wire::kDefaultAdminSocket;
    std::vector<std::string> words(argv + 1, argv + argc);
    std::string grant_socket = "/run/vigil/grant.sock";
    while (words.size() >= 2 && (words[0] == "--socket" || words[0] == "--grant-socket")) {
        (words[0] == "--socket" ? socket : grant_socket) = words[1];
        words.erase(words.begin(), words.begin() + 2);
    }
    if (words.empty() || words[0] == "--help" || words[0] == "-h") {
        usage(words.empty() ? stderr : stdout);
        return words.empty() ? 2 : 0;
    }
    std::string cmd = words[0];
    auto args = parse_flags({words.begin() + 1, words.end()});
    if (!args) return std::fprintf(stderr, "vigilctl %s: %s\n", cmd.c_str(), args.error().message.c_str()), 2;
    if (cmd == "decide") return cmd_decide(socket, *args);
    if (cmd == "audit") return cmd_audit(*args);
    if (cmd == "report") return cmd_report(*args);
    if (cmd == "status") return cmd_status(socket, *args);
    if (cmd == "ping") return cmd_ping(socket, *args);
    if (cmd == "posture") return cmd_posture(socket, *args);
    if (cmd == "totp") return cmd_totp(*args);
    if (cmd == "sudo-plugin") return cmd_sudo_plugin(*args);
    if (cmd == "sessions") return cmd_sessions(socket, *args);
    if (cmd == "grant") return cmd_grant(socket, grant_socket, *args);
    if (cmd == "revoke") return cmd_revoke(socket, *args);
    std::fprintf(stderr, "vigilctl: unknown command %s\n", cmd.c_str());
    usage(stderr);
    return 2;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) {
    try {
        return vigil::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vigilctl: %s\n", e.what());
        return 1;
    }
}
