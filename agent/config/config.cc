#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <regex>
#include <set>

#include "cidr.h"
#include "config_files.h"
#include "duration.h"
#include "grant_table.h"
#include "provider_url.h"
#include "regex_setting.h"
#include "sha256.h"
#include "trusted_ids.h"
#include "unique_fd.h"

namespace vigil {
namespace {

constexpr size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

// Thrown inside the parser only; parse_config turns it into a Result.
struct ConfigError {
    std::string message;
};

class Parser {
public:
    explicit Parser(const std::string& path) : path_(path) {}

    Config parse(const toml::table& root) {
        Config c;
        c.path = path_;
        only_keys(root,
                  {"agent", "pdp", "host", "subject", "ssh", "posture", "step_up", "sessions", "grants", "metrics",
                   "rollout", "sudo", "rule"},
                  "top level");
        if (auto* t = root.get("agent")) parse_agent(table(*t, "[agent]"), c.agent);
        if (auto* t = root.get("pdp")) parse_pdp(table(*t, "[pdp]"), c.pdp);
        if (auto* t = root.get("host")) parse_host(table(*t, "[host]"), c.host);
        if (auto* t = root.get("subject")) parse_subject(table(*t, "[subject]"), c.subject);
        if (auto* t = root.get("ssh")) parse_ssh(table(*t, "[ssh]"), c.ssh);
        if (auto* t = root.get("posture")) parse_posture(table(*t, "[posture]"), c.posture);
        if (auto* t = root.get("step_up")) parse_step_up(table(*t, "[step_up]"), c.step_up);
        if (auto* t = root.get("sessions")) parse_sessions(table(*t, "[sessions]"), c.sessions);
        if (auto* t = root.get("grants")) parse_grants(table(*t, "[grants]"), c.grants);
        if (auto* t = root.get("metrics")) parse_metrics(table(*t, "[metrics]"), c.metrics);
        if (auto* t = root.get("rollout")) parse_rollout(table(*t, "[rollout]"), c.rollout);
        if (auto* t = root.get("sudo")) parse_sudo(table(*t, "[sudo]"), c.sudo);
        if (auto* rules = root.get("rule")) parse_rules(*rules, c.rules);
        check_step_up_methods(root, c);
        return c;
    }

    // Names the file the offending line is in: a drop-in's own lines keep
    // their file through the merge.
    [[noreturn]] void fail(const toml::source_region& where, const std::string& msg) const {
        throw ConfigError{fmt::format("{}:{}: {}", where.path ? *where.path : path_, where.begin.line, msg)};
    }

private:
    const toml::table& table(const toml::node& n, std::string_view what) const {
        if (auto* t = n.as_table()) return *t;
        fail(n.source(), fmt::format("{} must be a table", what));
    }

    void only_keys(const toml::table& t, std::set<std::string_view> allowed, std::string_view where) const {
        for (auto&& [key, value] : t) {
            if (!allowed.count(key.str())) {
                fail(key.source(),
                     fmt::format("{}: unknown key \"{}\"{}", where, key.str(), suggestion(key.str(), allowed)));
            }
        }
    }

    static std::string suggestion(std::string_view key, const std::set<std::string_view>& allowed) {
        for (auto a : allowed) {
            if (a.starts_with(key) || key.starts_with(a)) return fmt::format(" (did you mean \"{}\"?)", a);
        }
        return "";
    }

    std::string string(const toml::node& n, std::string_view what) const {
        if (auto s = n.value<std::string>()) return *s;
        fail(n.source(), fmt::format("{} must be a string", what));
    }

    std::string absolute_path(const toml::node& n, std::string_view what) const {
        std::string s = string(n, what);
        if (s.empty() || s[0] != '/') fail(n.source(), fmt::format("{} must be an absolute path", what));
        return s;
    }

    std::string socket_path(const toml::node& n, std::string_view what) const {
        std::string s = absolute_path(n, what);
        if (s.size() > kMaxSocketPath) {
            fail(n.source(),
                 fmt::format("{} is longer than a unix socket path may be ({} bytes)", what, kMaxSocketPath));
        }
        return s;
    }

    int64_t integer(const toml::node& n, std::string_view what, int64_t lo, int64_t hi) const {
        auto v = n.value<int64_t>();
        if (!v || *v < lo || *v > hi) {
            fail(n.source(), fmt::format("{} must be an integer from {} to {}", what, lo, hi));
        }
        return *v;
    }

    bool boolean(const toml::node& n, std::string_view what) const {
        auto b = n.value<bool>();
        if (!b) fail(n.source(), fmt::format("{} must be true or false", what));
        return *b;
    }

    std::chrono::seconds duration(const toml::node& n, std::string_view what) const {
        auto d = parse_duration(string(n, what));
        if (!d) fail(n.source(), fmt::format("{}: {}", what, d.error().message));
        return *d;
    }

    std::vector<std::string> string_list(const toml::node& n, std::string_view what, bool may_be_empty = false) const {
        auto* arr = n.as_array();
        if (!arr) fail(n.source(), fmt::format("{} must be a list, e.g. {} = [\"...\"]", what, what));
        std::vector<std::string> out;
        for (auto&& item : *arr) {
            std::string s = string(item, what);
            if (s.empty()) fail(item.source(), fmt::format("{} holds an empty string", what));
            out.push_back(std::move(s));
        }
        if (out.empty() && !may_be_empty) {
            fail(n.source(), fmt::format("{} is empty: leave the key out to match everything", what));
        }
        return out;
    }

    // The textfile collector reads only *.prom files: any other name would
    // be written faithfully and never scraped.
    void parse_metrics(const toml::table& t, MetricsSettings& m) const {
        only_keys(t, {"textfile", "interval"}, "[metrics]");
        if (auto* n = t.get("textfile"); n && !string(*n, "metrics.textfile").empty()) {
            m.textfile = absolute_path(*n, "metrics.textfile");
            if (!m.textfile.ends_with(".prom")) {
                fail(n->source(),
                     "metrics.textfile must end in .prom (node_exporter's textfile collector reads no other)");
            }
        }
        if (auto* n = t.get("interval")) m.interval = duration(*n, "metrics.interval");
    }

    void parse_sudo(const toml::table& t, SudoSettings& s) const {
        only_keys(t, {"approval"}, "[sudo]");
        if (auto* n = t.get("approval")) {
            std::string v = string(*n, "sudo.approval");
            if (v == "pam")
                s.approval = SudoApproval::Pam;
            else if (v == "plugin")
                s.approval = SudoApproval::Plugin;
            else
                fail(n->source(), fmt::format("sudo.approval must be \"pam\" or \"plugin\", not \"{}\"", v));
        }
    }

    void parse_agent(const toml::table& t, AgentSettings& a) const {
        only_keys(t,
                  {"socket", "admin_socket", "grant_socket", "audit_log", "audit_failure", "state_dir",
                   "max_concurrent", "identity_cache"},
                  "[agent]");
        if (auto* n = t.get("grant_socket")) a.grant_socket = socket_path(*n, "agent.grant_socket");
        if (auto* n = t.get("socket")) a.socket = socket_path(*n, "agent.socket");
        if (auto* n = t.get("admin_socket")) a.admin_socket = socket_path(*n, "agent.admin_socket");
        if (auto* n = t.get("audit_log")) a.audit_log = absolute_path(*n, "agent.audit_log");
        if (auto* n = t.get("state_dir")) a.state_dir = absolute_path(*n, "agent.state_dir");
        if (auto* n = t.get("audit_failure")) a.audit_failure = audit_failure(*n);
        if (auto* n = t.get("max_concurrent")) {
            a.max_concurrent = static_cast<int>(integer(*n, "agent.max_concurrent", 1, 4096));
        }
        if (auto* n = t.get("identity_cache")) {
            a.identity_cache = duration_or_zero(*n, "agent.identity_cache");
            if (a.identity_cache > std::chrono::hours(1)) fail(n->source(), "agent.identity_cache: at most 1h");
        }
        // Sockets not named sit beside the PAM socket: a second vigild (a
        // canary, a test) that moves `socket` cannot collide on the others.
        if (t.contains("socket")) {
            if (!t.contains("admin_socket")) a.admin_socket = beside(t, a.socket, "admin.sock", "agent.admin_socket");
            if (!t.contains("grant_socket")) a.grant_socket = beside(t, a.socket, "grant.sock", "agent.grant_socket");
        }
        if (a.socket == a.admin_socket || a.socket == a.grant_socket || a.admin_socket == a.grant_socket) {
            fail(t.source(), "agent.socket, agent.admin_socket and agent.grant_socket must differ");
        }
    }

    std::string beside(const toml::table& t, const std::string& socket, const char* name, std::string_view what) const {
        std::string path = socket.substr(0, socket.rfind('/') + 1) + name;
        if (path.size() > kMaxSocketPath) {
            fail(t.source(), fmt::format("{} (by default {}, beside agent.socket) is longer than a unix socket path "
                                         "may be ({} bytes): set it",
                                         what, path, kMaxSocketPath));
        }
        return path;
    }

    void parse_pdp(const toml::table& t, PdpSettings& p) const {
        only_keys(
            t,
            {"protocol", "urls", "ca_file", "pinned_pubkey", "client_cert", "client_key", "bearer_token_file",
             "timeout", "fallback", "cache_max_age", "cache_allow_seconds", "cache_services", "opa_path", "ignore_keys",
             "breaker_failures", "breaker_cooldown", "max_connections", "authzen_profile", "batch"},
            "[pdp]");
        if (auto* n = t.get("protocol")) p.protocol = protocol(*n);
        if (auto* n = t.get("urls")) p.urls = urls(*n);
        for (auto [key, slot] : {std::pair{"ca_file", &p.ca_file},
                                 {"client_cert", &p.client_cert},
                                 {"client_key", &p.client_key},
                                 {"bearer_token_file", &p.bearer_token_file}}) {
            if (auto* n = t.get(key)) *slot = absolute_path(*n, fmt::format("pdp.{}", key));
        }
        if (auto* n = t.get("pinned_pubkey")) p.pinned_pubkey = string(*n, "pdp.pinned_pubkey");
        if (auto* n = t.get("timeout")) p.timeout = millis(*n, "pdp.timeout");
        if (auto* n = t.get("fallback")) p.fallback = fallback(*n);
        if (auto* n = t.get("cache_max_age")) p.cache_max_age = duration(*n, "pdp.cache_max_age");
        if (auto* n = t.get("cache_allow_seconds")) {
            p.cache_allow = std::chrono::seconds(integer(*n, "pdp.cache_allow_seconds", 0, 3600));
        }
        if (auto* n = t.get("cache_services")) p.cache_services = string_list(*n, "cache_services");
        if (auto* n = t.get("opa_path")) p.opa_path = opa_path(*n);
        if (auto* n = t.get("authzen_profile")) p.authzen_profile = profile(*n);
        if (auto* n = t.get("ignore_keys")) p.ignore_keys = string_list(*n, "ignore_keys", true);
        if (auto* n = t.get("breaker_failures")) {
            p.breaker_failures = static_cast<int>(integer(*n, "pdp.breaker_failures", 1, 100));
        }
        if (auto* n = t.get("breaker_cooldown")) p.breaker_cooldown = millis(*n, "pdp.breaker_cooldown");
        if (auto* n = t.get("max_connections")) {
            p.max_connections = static_cast<int>(integer(*n, "pdp.max_connections", 1, 256));
        }
        if (auto* n = t.get("batch")) p.batch = boolean(*n, "pdp.batch");
        check_pdp(t, p);
    }

    void check_pdp(const toml::table& t, const PdpSettings& p) const {
        if (p.protocol != PdpProtocol::Local && p.urls.empty()) {
            fail(t.source(),
                 fmt::format("[pdp] protocol \"{}\" needs urls = [\"https://...\"]", to_string(p.protocol)));
        }
        if (p.client_cert.empty() != p.client_key.empty()) {
            fail(t.source(), "[pdp] client_cert and client_key go together");
        }
    }

    PdpProtocol protocol(const toml::node& n) const {
        std::string p = string(n, "pdp.protocol");
        for (auto proto : {PdpProtocol::Local, PdpProtocol::AuthZen, PdpProtocol::Cerbos, PdpProtocol::Opa}) {
            if (p == to_string(proto)) return proto;
        }
        fail(n.source(), fmt::format("pdp.protocol \"{}\" is unknown; use \"local\", \"authzen\", "
                                     "\"cerbos\" or \"opa\"",
                                     p));
    }

    // The host part of "http://HOST[:port][/path]", brackets kept for IPv6.
    static std::string url_host(const std::string& u, size_t scheme_len) {
        std::string rest = u.substr(scheme_len);
        if (rest.starts_with("[")) return rest.substr(0, rest.find(']') + 1);
        return rest.substr(0, rest.find_first_of(":/"));
    }

    static bool is_loopback(const std::string& host) {
        if (host == "localhost" || host == "[::1]") return true;
        auto ip = parse_ip(host);
        return ip && ip->family == AF_INET && ip->bytes[0] == 127;
    }

    // https anywhere; plain http only to this machine, where nothing can
    // read or change the answer on the way.
    std::vector<std::string> urls(const toml::node& n) const {
        std::vector<std::string> out = string_list(n, "urls");
        for (auto& u : out) {
            bool https = u.starts_with("https://");
            bool loopback = u.starts_with("http://") && is_loopback(url_host(u, 7));
            if (!https && !loopback) {
                fail(n.source(), fmt::format("pdp url \"{}\": use https:// (plain http only to loopback)", u));
            }
            while (u.size() > 1 && u.back() == '/') u.pop_back();
        }
        return out;
    }

    std::string opa_path(const toml::node& n) const {
        std::string p = string(n, "pdp.opa_path");
        bool ok = !p.empty() && p.front() != '/' && p.find("..") == std::string::npos &&
                  p.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/") ==
                      std::string::npos;
        if (!ok) fail(n.source(), "pdp.opa_path must look like \"vigil/decision\" (the rule's package path)");
        return p;
    }

    AuthzenProfile profile(const toml::node& n) const {
        std::string p = string(n, "pdp.authzen_profile");
        if (p == "standard") return AuthzenProfile::Standard;
        if (p == "cerbos") return AuthzenProfile::Cerbos;
        fail(n.source(), fmt::format("pdp.authzen_profile \"{}\": use \"standard\" or \"cerbos\"", p));
    }

    AuditFailure audit_failure(const toml::node& n) const {
        std::string f = string(n, "agent.audit_failure");
        if (f == "deny") return AuditFailure::Deny;
        if (f == "continue") return AuditFailure::Continue;
        fail(n.source(), fmt::format("agent.audit_failure \"{}\": use \"deny\" or \"continue\"", f));
    }

    Fallback fallback(const toml::node& n) const {
        std::string f = string(n, "fallback");
        for (auto fb : {Fallback::Deny, Fallback::Local, Fallback::Cached}) {
            if (f == to_string(fb)) return fb;
        }
        fail(n.source(), fmt::format("fallback \"{}\": use \"deny\", \"local\" or \"cached\"", f));
    }

    std::chrono::milliseconds millis(const toml::node& n, std::string_view what) const {
        auto d = parse_duration_ms(string(n, what));
        if (!d) fail(n.source(), fmt::format("{}: {}", what, d.error().message));
        return *d;
    }

    void parse_host(const toml::table& t, HostSettings& h) const {
        only_keys(t, {"id", "labels"}, "[host]");
        if (auto* n = t.get("id")) h.id = string(*n, "host.id");
        if (auto* n = t.get("labels")) {
            for (auto&& [key, value] : table(*n, "host.labels")) {
                h.labels.emplace_back(std::string(key.str()), string(value, "a host label"));
            }
        }
    }

    void parse_posture(const toml::table& t, PostureSettings& p) const {
        only_keys(t,
                  {"max_age", "settle", "ticking", "require", "systemd", "socket", "host", "falcon", "osquery", "wazuh",
                   "clamd"},
                  "[posture]");
        if (auto* n = t.get("max_age")) p.max_age = duration(*n, "posture.max_age");
        if (auto* n = t.get("settle")) p.settle = duration(*n, "posture.settle");
        if (auto* n = t.get("ticking")) p.ticking = string_list(*n, "posture.ticking", true);
        if (auto* n = t.get("require")) p.require = requirements(*n);
        if (auto* n = t.get("systemd")) p.systemd = parse_systemd(table(*n, "[posture.systemd]"));
        if (auto* n = t.get("socket")) p.sockets = parse_sockets(*n);
        if (auto* n = t.get("host")) p.host = parse_host_facts(table(*n, "[posture.host]"));
        if (auto* n = t.get("falcon")) p.falcon = parse_falcon(table(*n, "[posture.falcon]"));
        if (auto* n = t.get("osquery")) p.osquery = parse_osquery(table(*n, "[posture.osquery]"));
        if (auto* n = t.get("wazuh")) p.wazuh = parse_wazuh(table(*n, "[posture.wazuh]"));
        if (auto* n = t.get("clamd")) p.clamd = parse_clamd(table(*n, "[posture.clamd]"));
        settle_max_ages(t, p);
    }

    // A collector without its own max_age takes [posture] max_age. One that
    // reads less often than its max_age lets its own signals go stale between
    // reads: every requirement on them would fail at times.
    void settle_max_ages(const toml::table& t, PostureSettings& p) const {
        auto settle = [&](const char* what, auto& s) {
            if (s.max_age.count() == 0) s.max_age = p.max_age;
            if (s.interval >= s.max_age) {
                fail(t.source(), fmt::format("[posture.{}] interval must be shorter than its max_age ({}s)", what,
                                             s.max_age.count()));
            }
        };
        if (p.systemd) settle("systemd", *p.systemd);
        for (auto& s : p.sockets) settle("socket", s);
        if (p.host) settle("host", *p.host);
        if (p.falcon) settle("falcon", *p.falcon);
        if (p.osquery) settle("osquery", *p.osquery);
        if (p.wazuh) settle("wazuh", *p.wazuh);
        if (p.clamd) settle("clamd", *p.clamd);
    }

    // interval and max_age, which every collector table has.
    template <class Settings>
    void cadence(const toml::table& t, Settings& s, const std::string& what) const {
        if (auto* n = t.get("interval")) s.interval = millis(*n, what + ".interval");
        if (auto* n = t.get("max_age")) s.max_age = duration(*n, what + ".max_age");
    }

    // Each collector's validate() has the last word (signal-name rules, JSON
    // paths, timeout <= interval, ...), reported at the table's line.
    template <class Settings>
    Settings checked(Settings s, const toml::node& where) const {
        if (auto ok = posture::validate(s); !ok) fail(where.source(), ok.error().message);
        return s;
    }

    // Whom a collector trusts besides root: a user name, or a uid ("clamav", 112).
    std::string account(const toml::node& n, std::string_view what) const {
        std::string s = n.is_integer() ? std::to_string(integer(n, what, 0, 4294967294)) : string(n, what);
        if (!posture::valid_account(s)) fail(n.source(), fmt::format("{} must be a user name or a uid", what));
        return s;
    }

    std::vector<posture::SocketSettings> parse_sockets(const toml::node& n) const {
        auto* arr = n.as_array();
        if (!arr || !arr->is_array_of_tables()) fail(n.source(), "sockets are written as [[posture.socket]] tables");
        std::vector<posture::SocketSettings> out;
        std::set<std::string> names;
        for (auto&& item : *arr) {
            out.push_back(parse_socket(*item.as_table()));
            if (!names.insert(out.back().name).second) {
                fail(item.source(), fmt::format("a [[posture.socket]] named \"{}\" exists already", out.back().name));
            }
        }
        return out;
    }

    posture::SocketSettings parse_socket(const toml::table& t) const {
        only_keys(t, {"name", "path", "request", "timeout", "interval", "fields", "max_age", "peer_user"},
                  "[[posture.socket]]");
        posture::SocketSettings s;
        auto* name = t.get("name");
        auto* path = t.get("path");
        if (!name || !path) fail(t.source(), "[[posture.socket]] needs a name and a path");
        s.name = signal_prefix(*name);
        s.path = socket_path(*path, "posture.socket.path");
        if (auto* n = t.get("request")) s.request = string(*n, "posture.socket.request");
        if (auto* n = t.get("timeout")) s.timeout = millis(*n, "posture.socket.timeout");
        if (auto* n = t.get("peer_user")) s.peer_user = account(*n, "posture.socket.peer_user");
        cadence(t, s, "posture.socket");
        auto* fields = t.get("fields");
        if (!fields) fail(t.source(), "[[posture.socket]] needs fields = { signal = \"json.path\" }");
        for (auto&& [key, value] : table(*fields, "posture.socket.fields")) {
            s.fields[std::string(key.str())] = string(value, "a posture.socket field path");
        }
        if (s.fields.empty()) fail(fields->source(), "posture.socket.fields is empty");
        return checked(std::move(s), t);
    }

    std::string signal_prefix(const toml::node& n) const {
        std::string s = string(n, "posture.socket.name");
        bool ok = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
        if (!ok) fail(n.source(), "posture.socket.name must be lowercase letters, digits, '_' or '-'");
        return s;
    }

    posture::HostFactsSettings parse_host_facts(const toml::table& t) const {
        only_keys(t, {"root", "interval", "max_age"}, "[posture.host]");
        posture::HostFactsSettings s;
        if (auto* n = t.get("root")) s.root = absolute_path(*n, "posture.host.root");
        cadence(t, s, "posture.host");
        return checked(std::move(s), t);
    }

    posture::FalconSettings parse_falcon(const toml::table& t) const {
        only_keys(t, {"zta_file", "falconctl", "timeout", "interval", "max_age", "public_key", "owner"},
                  "[posture.falcon]");
        posture::FalconSettings s;
        if (auto* n = t.get("zta_file")) s.zta_file = absolute_path(*n, "posture.falcon.zta_file");
        if (auto* n = t.get("falconctl")) s.falconctl = string(*n, "posture.falcon.falconctl");
        if (!s.falconctl.empty() && s.falconctl[0] != '/')
            fail(t.source(), "posture.falcon.falconctl must be an absolute path or \"\"");
        if (auto* n = t.get("timeout")) s.timeout = millis(*n, "posture.falcon.timeout");
        if (auto* n = t.get("public_key")) s.public_key = absolute_path(*n, "posture.falcon.public_key");
        if (auto* n = t.get("owner")) s.owner = account(*n, "posture.falcon.owner");
        cadence(t, s, "posture.falcon");
        return checked(std::move(s), t);
    }

    posture::OsquerySettings parse_osquery(const toml::table& t) const {
        only_keys(t, {"binary", "queries", "timeout", "interval", "max_age"}, "[posture.osquery]");
        posture::OsquerySettings s;
        if (auto* n = t.get("binary")) s.binary = absolute_path(*n, "posture.osquery.binary");
        if (auto* n = t.get("timeout")) s.timeout = millis(*n, "posture.osquery.timeout");
        cadence(t, s, "posture.osquery");
        auto* queries = t.get("queries");
        if (!queries) fail(t.source(), "[posture.osquery] needs queries = { signal = \"SELECT ...\" }");
        for (auto&& [key, value] : table(*queries, "posture.osquery.queries")) {
            s.queries[std::string(key.str())] = osquery_query(value);
        }
        return checked(std::move(s), t);
    }

    // "SELECT ..." (the first column), or { sql = "SELECT ...", column = "name" }.
    posture::OsqueryQuery osquery_query(const toml::node& n) const {
        if (n.is_string()) return {string(n, "an osquery query"), ""};
        const toml::table& q = table(n, "an osquery query");
        only_keys(q, {"sql", "column"}, "an osquery query");
        auto* sql = q.get("sql");
        if (!sql) fail(q.source(), "an osquery query table needs sql = \"SELECT ...\"");
        posture::OsqueryQuery out{string(*sql, "an osquery query's sql"), ""};
        if (auto* c = q.get("column")) out.column = string(*c, "an osquery query's column");
        return out;
    }

    posture::WazuhSettings parse_wazuh(const toml::table& t) const {
        only_keys(t, {"state_file", "interval", "stale_after", "max_age", "owner"}, "[posture.wazuh]");
        posture::WazuhSettings s;
        if (auto* n = t.get("state_file")) s.state_file = absolute_path(*n, "posture.wazuh.state_file");
        cadence(t, s, "posture.wazuh");
        if (auto* n = t.get("stale_after")) s.stale_after = duration(*n, "posture.wazuh.stale_after");
        if (auto* n = t.get("owner")) s.owner = account(*n, "posture.wazuh.owner");
        return checked(std::move(s), t);
    }

    posture::ClamdSettings parse_clamd(const toml::table& t) const {
        only_keys(t, {"socket", "timeout", "interval", "max_age", "peer_user"}, "[posture.clamd]");
        posture::ClamdSettings s;
        if (auto* n = t.get("socket")) s.socket = socket_path(*n, "posture.clamd.socket");
        if (auto* n = t.get("timeout")) s.timeout = millis(*n, "posture.clamd.timeout");
        if (auto* n = t.get("peer_user")) s.peer_user = account(*n, "posture.clamd.peer_user");
        cadence(t, s, "posture.clamd");
        return checked(std::move(s), t);
    }

    posture::SystemdSettings parse_systemd(const toml::table& t) const {
        only_keys(t, {"bus", "units", "interval", "ntp", "max_age"}, "[posture.systemd]");
        posture::SystemdSettings s;
        if (auto* n = t.get("bus")) {
            s.bus = string(*n, "posture.systemd.bus");
            if (s.bus != "system" && s.bus != "user" && s.bus.find(':') == std::string::npos) {
                fail(n->source(),
                     "posture.systemd.bus: use \"system\", \"user\" or a D-Bus address "
                     "(unix:path=...)");
            }
        }
        if (auto* n = t.get("units")) s.units = string_list(*n, "units");
        cadence(t, s, "posture.systemd");
        if (auto* n = t.get("ntp")) s.ntp = boolean(*n, "posture.systemd.ntp");
        return s;
    }

    std::vector<posture::Requirement> requirements(const toml::node& n) const {
        std::vector<posture::Requirement> out;
        for (const std::string& text : string_list(n, "require")) {
            // "SIGNAL OP VALUE within DURATION": the tail is a duration, which
            // only this reader knows how to parse.
            size_t at = text.rfind(" within ");
            std::string condition = at == std::string::npos ? text : text.substr(0, at);
            std::string why;
            auto r = posture::parse_requirement(condition, why);
            if (!r) fail(n.source(), fmt::format("require \"{}\": {}", text, why));
            r->text = text;
            if (at != std::string::npos) {
                auto d = parse_duration(text.substr(at + 8));
                if (!d) fail(n.source(), fmt::format("require \"{}\": within: {}", text, d.error().message));
                r->within = *d;
            }
            out.push_back(*r);
        }
        return out;
    }

    void parse_grants(const toml::table& t, GrantSettings& g) const {
        only_keys(t, {"table", "max", "requests_burst", "requests_every", "group", "account"}, "[grants]");
        if (auto* n = t.get("table")) g.table = absolute_path(*n, "grants.table");
        if (auto* n = t.get("max")) g.max = duration(*n, "grants.max");
        if (auto* n = t.get("requests_burst"))
            g.requests_burst = static_cast<unsigned>(integer(*n, "grants.requests_burst", 1, 1000));
        if (auto* n = t.get("requests_every")) g.requests_every = duration(*n, "grants.requests_every");
        if (auto* accounts = t.get("account")) parse_grant_accounts(*accounts, g);
        auto* groups = t.get("group");
        if (!groups) return;
        auto* arr = groups->as_array();
        if (!arr || !arr->is_array_of_tables()) fail(groups->source(), "groups are written as [[grants.group]] tables");
        std::set<std::string> names;
        for (auto&& item : *arr) {
            const toml::table& gt = *item.as_table();
            only_keys(gt, {"name", "gid"}, "[[grants.group]]");
            auto* name = gt.get("name");
            auto* gid = gt.get("gid");
            if (!name || !gid) fail(gt.source(), "[[grants.group]] needs a name and a gid");
            GrantGroupSettings s{string(*name, "grants.group.name"),
                                 static_cast<uint32_t>(integer(*gid, "grants.group.gid", 1000, 4294967294))};
            if (!names.insert(s.name).second) fail(gt.source(), fmt::format("group \"{}\" is listed twice", s.name));
            g.groups.push_back(std::move(s));
        }
    }

    void parse_grant_accounts(const toml::node& n, GrantSettings& g) const {
        auto* arr = n.as_array();
        if (!arr || !arr->is_array_of_tables()) fail(n.source(), "accounts are written as [[grants.account]] tables");
        std::set<std::string> names;
        for (auto&& item : *arr) {
            const toml::table& at = *item.as_table();
            only_keys(at, {"name", "uid", "gid", "gecos", "home", "shell"}, "[[grants.account]]");
            auto *name = at.get("name"), *uid = at.get("uid"), *gid = at.get("gid"), *home = at.get("home");
            if (!name || !uid || !gid || !home) fail(at.source(), "[[grants.account]] needs name, uid, gid and home");
            GrantAccountSettings a;
            a.name = string(*name, "grants.account.name");
            // Never a system account, never root: ids from the range admins give people.
            a.uid = static_cast<uint32_t>(integer(*uid, "grants.account.uid", 1000, 4294967294));
            a.gid = static_cast<uint32_t>(integer(*gid, "grants.account.gid", 1000, 4294967294));
            if (auto* x = at.get("gecos")) a.gecos = string(*x, "grants.account.gecos");
            a.home = absolute_path(*home, "grants.account.home");
            if (auto* x = at.get("shell")) a.shell = absolute_path(*x, "grants.account.shell");
            // The table's own rules (names, paths, gecos), checked now rather than at the first grant.
            GrantTable probe;
            probe.accounts.push_back(
                {a.name, a.uid, a.gid, a.gecos.empty() ? "x" : a.gecos, a.home, a.shell, 1, "g-1"});
            if (auto ok = parse_grant_table(format_grant_table(probe)); !ok) {
                fail(at.source(), fmt::format("[[grants.account]] \"{}\": {}", a.name, ok.error().message));
            }
            if (!names.insert(a.name).second) fail(at.source(), fmt::format("account \"{}\" is listed twice", a.name));
            g.accounts.push_back(std::move(a));
        }
    }

    Mode mode(const toml::node& n, std::string_view what) const {
        auto m = parse_mode(string(n, what));
        if (!m) fail(n.source(), fmt::format("{} must be \"enforce\" or \"report\"", what));
        return *m;
    }

    void parse_rollout(const toml::table& t, RolloutSettings& r) const {
        only_keys(t, {"mode", "services"}, "[rollout]");
        if (auto* n = t.get("mode")) r.mode = mode(*n, "rollout.mode");
        if (auto* n = t.get("services")) {
            for (auto&& [name, value] : table(*n, "rollout.services")) {
                if (name.str().empty()) fail(name.source(), "rollout.services: a service name is empty");
                r.services.emplace_back(std::string(name.str()),
                                        mode(value, fmt::format("rollout.services.{}", name.str())));
            }
        }
    }

    void parse_sessions(const toml::table& t, SessionSettings& s) const {
        only_keys(t, {"warn_before", "deny_grace", "revoke_grace", "contain"}, "[sessions]");
        if (auto* n = t.get("warn_before")) s.warn_before = duration_or_zero(*n, "sessions.warn_before");
        if (auto* n = t.get("deny_grace")) s.deny_grace = duration_or_zero(*n, "sessions.deny_grace");
        if (auto* n = t.get("revoke_grace")) s.revoke_grace = duration(*n, "sessions.revoke_grace");
        if (auto* n = t.get("contain")) s.contain = boolean(*n, "sessions.contain");
    }

    // [step_up], [step_up.totp], [step_up.device], [step_up.purpose].
    void parse_step_up(const toml::table& t, StepUpSettings& s) const {
        only_keys(t, {"remember", "totp", "device", "purpose"}, "[step_up]");
        if (auto* n = t.get("remember")) s.remember = duration_or_zero(*n, "step_up.remember");
        if (auto* n = t.get("totp")) {
            parse_totp(table(*n, "[step_up.totp]"), s.totp);
            s.totp_configured = true;
        }
        if (auto* n = t.get("device")) {
            parse_device(table(*n, "[step_up.device]"), s.device);
            s.device_configured = true;
        }
        if (auto* n = t.get("purpose")) parse_purpose(table(*n, "[step_up.purpose]"), s.purpose);
    }

    std::chrono::seconds duration_or_zero(const toml::node& n, const std::string& what) const {
        if (auto v = n.value<int64_t>(); v && *v == 0) return std::chrono::seconds(0);
        if (auto v = n.value<std::string>(); v && (*v == "0" || *v == "0s")) return std::chrono::seconds(0);
        return duration(n, what);
    }

    void parse_totp(const toml::table& t, TotpSettings& s) const {
        only_keys(t, {"store_dir", "issuer", "digits", "period", "skew_steps", "lockout_after", "lockout_for"},
                  "[step_up.totp]");
        if (auto* n = t.get("store_dir")) s.store_dir = absolute_path(*n, "step_up.totp.store_dir");
        if (auto* n = t.get("issuer")) s.issuer = string(*n, "step_up.totp.issuer");
        if (s.issuer.empty() || s.issuer.find(':') != std::string::npos) {
            fail(t.source(), "step_up.totp.issuer must be non-empty and without ':'");
        }
        if (auto* n = t.get("digits")) s.digits = static_cast<unsigned>(integer(*n, "step_up.totp.digits", 6, 8));
        if (auto* n = t.get("period")) s.period = duration(*n, "step_up.totp.period");
        if (auto* n = t.get("skew_steps")) {
            s.skew_steps = static_cast<unsigned>(integer(*n, "step_up.totp.skew_steps", 0, 10));
        }
        if (auto* n = t.get("lockout_after")) {
            s.lockout_after = static_cast<unsigned>(integer(*n, "step_up.totp.lockout_after", 1, 100));
        }
        if (auto* n = t.get("lockout_for")) s.lockout_for = duration(*n, "step_up.totp.lockout_for");
    }

    void parse_device(const toml::table& t, DeviceFlowSettings& s) const {
        only_keys(t,
                  {"issuer", "client_id", "client_secret_file", "scope", "user_claim", "accept_amr", "accept_acr",
                   "max_auth_age", "ca_file", "http_timeout"},
                  "[step_up.device]");
        auto* issuer = t.get("issuer");
        auto* client = t.get("client_id");
        if (!issuer || !client) fail(t.source(), "[step_up.device] needs issuer and client_id");
        s.issuer = string(*issuer, "step_up.device.issuer");
        if (auto ok = check_provider_url(s.issuer, "step_up.device.issuer"); !ok) {
            fail(issuer->source(), ok.error().message);
        }
        s.client_id = string(*client, "step_up.device.client_id");
        if (auto* n = t.get("client_secret_file")) {
            s.client_secret_file = absolute_path(*n, "step_up.device.client_secret_file");
        }
        if (auto* n = t.get("scope")) s.scope = string(*n, "step_up.device.scope");
        if (auto* n = t.get("user_claim")) {
            s.user_claim = string(*n, "step_up.device.user_claim");
            if (s.user_claim.empty()) {
                fail(n->source(), "step_up.device.user_claim is empty: no claim would name the user");
            }
        }
        if (auto* n = t.get("accept_amr")) s.accept_amr = string_list(*n, "accept_amr");
        if (auto* n = t.get("accept_acr")) s.accept_acr = string_list(*n, "accept_acr");
        if (s.accept_amr.empty() && s.accept_acr.empty()) {
            fail(t.source(), "[step_up.device]: accept_amr and accept_acr are both empty: nothing would show MFA");
        }
        if (auto* n = t.get("max_auth_age")) s.max_auth_age = duration(*n, "step_up.device.max_auth_age");
        if (auto* n = t.get("ca_file")) s.ca_file = absolute_path(*n, "step_up.device.ca_file");
        if (auto* n = t.get("http_timeout")) s.http_timeout = millis(*n, "step_up.device.http_timeout");
    }

    void parse_purpose(const toml::table& t, PurposeSettings& s) const {
        only_keys(t, {"prompt", "pattern", "hint"}, "[step_up.purpose]");
        if (auto* n = t.get("prompt")) s.prompt = string(*n, "step_up.purpose.prompt");
        if (s.prompt.empty()) fail(t.source(), "step_up.purpose.prompt is empty");
        if (auto* n = t.get("hint")) s.hint = string(*n, "step_up.purpose.hint");
        if (auto* n = t.get("pattern")) {
            s.pattern = string(*n, "step_up.purpose.pattern");
            if (auto why = regex_setting_problem(s.pattern)) fail(n->source(), "step_up.purpose.pattern: " + *why);
        }
    }

    // A rule that asks for a method nobody configured would deny everyone
    // it matches, at the worst moment: refuse the file instead.
    void check_step_up_methods(const toml::table& root, const Config& c) const {
        for (const Rule& r : c.rules) {
            bool ok = r.step_up.empty() || (r.step_up == "totp" && c.step_up.totp_configured) ||
                      (r.step_up == "device" && c.step_up.device_configured);
            if (!ok) {
                fail(root.source(), fmt::format("rule \"{}\" (line {}): step_up = \"{}\" needs a [step_up.{}] table",
                                                r.name, r.line, r.step_up, r.step_up));
            }
        }
    }

    void parse_subject(const toml::table& t, SubjectSettings& s) const {
        only_keys(t, {"workload_key_id"}, "[subject]");
        if (auto* n = t.get("workload_key_id")) {
            s.workload_key_id = string(*n, "subject.workload_key_id");
            if (auto why = regex_setting_problem(s.workload_key_id)) {
                fail(n->source(), "subject.workload_key_id: " + *why);
            }
        }
    }

    void parse_ssh(const toml::table& t, SshSettings& s) const {
        only_keys(t, {"trusted_user_ca_keys", "trusted_ca_fingerprints"}, "[ssh]");
        if (auto* n = t.get("trusted_user_ca_keys")) {
            s.trusted_user_ca_keys = string(*n, "ssh.trusted_user_ca_keys");
            if (s.trusted_user_ca_keys.empty() || s.trusted_user_ca_keys[0] != '/') {
                fail(n->source(), "ssh.trusted_user_ca_keys must be an absolute path");
            }
        }
        if (auto* n = t.get("trusted_ca_fingerprints")) {
            s.trusted_ca_fingerprints = string_list(*n, "ssh.trusted_ca_fingerprints", true);
            static const std::regex kFingerprint("^SHA256:[A-Za-z0-9+/]{43}$");
            for (const auto& fp : s.trusted_ca_fingerprints) {
                if (!std::regex_match(fp, kFingerprint)) {
                    fail(n->source(), fmt::format("ssh.trusted_ca_fingerprints: \"{}\" is not a SHA256 fingerprint "
                                                  "as ssh-keygen -l prints it (SHA256:<43 characters>)",
                                                  fp));
                }
            }
        }
    }

    void parse_rules(const toml::node& n, std::vector<Rule>& rules) const {
        auto* arr = n.as_array();
        if (!arr || !arr->is_array_of_tables()) fail(n.source(), "rules are written as [[rule]] tables");
        std::set<std::string> names;
        for (auto&& item : *arr) {
            Rule r = parse_rule(*item.as_table());
            if (!names.insert(r.name).second) {
                fail(item.source(), fmt::format("a rule named \"{}\" exists already", r.name));
            }
            rules.push_back(std::move(r));
        }
    }

    Rule parse_rule(const toml::table& t) const {
        Rule r;
        r.line = static_cast<int>(t.source().begin.line);
        auto* name = t.get("name");
        if (!name) fail(t.source(), "[[rule]] needs a name");
        r.name = string(*name, "rule name");
        if (r.name.empty()) fail(name->source(), "rule name is empty");
        std::string where = fmt::format("rule \"{}\"", r.name);
        only_keys(t,
                  {"name", "services", "users", "groups", "from", "decision", "reason", "session_max", "session_idle",
                   "ask_pdp", "fallback", "require", "step_up", "purpose", "commands", "runas"},
                  where);
        if (auto* n = t.get("services")) r.services = string_list(*n, "services");
        if (auto* n = t.get("users")) r.users = string_list(*n, "users");
        if (auto* n = t.get("groups")) r.groups = string_list(*n, "groups");
        if (auto* n = t.get("from")) r.from = cidrs(*n);
        parse_rule_commands(t, where, r);
        r.effect = effect(t, where);
        parse_outcome_details(t, where, r);
        return r;
    }

    // commands and runas say what sudo may run, and as whom: only sudo's
    // services know a command.
    void parse_rule_commands(const toml::table& t, const std::string& where, Rule& r) const {
        if (auto* n = t.get("commands")) {
            for (const std::string& c : string_list(*n, "commands")) {
                auto p = parse_command_pattern(c);
                if (!p) fail(n->source(), fmt::format("{}: {}", where, p.error().message));
                r.commands.push_back(std::move(*p));
            }
        }
        if (auto* n = t.get("runas")) r.runas = string_list(*n, "runas");
        if (r.commands.empty() && r.runas.empty()) return;
        for (const std::string& s : r.services) {
            if (!is_sudo_service(s)) {
                fail(
                    t.source(),
                    fmt::format("{}: commands and runas are for sudo's services (sudo, sudo-i), not \"{}\"", where, s));
            }
        }
    }

    std::vector<Cidr> cidrs(const toml::node& n) const {
        std::vector<Cidr> out;
        for (const std::string& s : string_list(n, "from")) {
            auto c = parse_cidr(s);
            if (!c) fail(n.source(), fmt::format("from: {}", c.error().message));
            out.push_back(*c);
        }
        return out;
    }

    Effect effect(const toml::table& t, const std::string& where) const {
        auto* n = t.get("decision");
        if (!n) fail(t.source(), fmt::format("{}: needs decision = \"allow\" or \"deny\"", where));
        std::string d = string(*n, "decision");
        if (d == "allow" || d == "step_up") return Effect::Allow;
        if (d == "deny") return Effect::Deny;
        fail(n->source(), fmt::format("{}: decision must be \"allow\", \"step_up\" or \"deny\", not \"{}\"", where, d));
    }

    void parse_outcome_details(const toml::table& t, const std::string& where, Rule& r) const {
        if (auto* n = t.get("reason")) {
            if (r.effect != Effect::Deny) fail(n->source(), fmt::format("{}: reason is only for deny rules", where));
            r.reason = string(*n, "reason");
        }
        if (auto* n = t.get("session_max")) {
            if (r.effect != Effect::Allow) {
                fail(n->source(), fmt::format("{}: session_max is only for allow rules", where));
            }
            r.session_max = duration(*n, "session_max");
        }
        if (auto* n = t.get("session_idle")) {
            if (r.effect != Effect::Allow) {
                fail(n->source(), fmt::format("{}: session_idle is only for allow rules", where));
            }
            r.session_idle = duration(*n, "session_idle");
        }
        if (auto* n = t.get("require")) r.require = requirements(*n);
        for (const char* key : {"ask_pdp", "fallback", "require"}) {
            if (auto* n = t.get(key); n && r.effect != Effect::Allow) {
                fail(n->source(), fmt::format("{}: {} is only for allow rules", where, key));
            }
        }
        if (auto* n = t.get("ask_pdp")) r.ask_pdp = boolean(*n, fmt::format("{}: ask_pdp", where));
        if (auto* n = t.get("fallback")) r.fallback = fallback(*n);
        parse_rule_step_up(t, where, r);
    }

    // decision = "step_up" is an allow that first wants a second factor:
    // step_up names the method ("totp" when left out); purpose = true wants
    // a justification. Both also work on decision = "allow".
    void parse_rule_step_up(const toml::table& t, const std::string& where, Rule& r) const {
        bool is_step_up = t.get("decision")->value<std::string>() == "step_up";
        for (const char* key : {"step_up", "purpose"}) {
            if (auto* n = t.get(key); n && r.effect != Effect::Allow) {
                fail(n->source(), fmt::format("{}: {} is only for allow and step_up rules", where, key));
            }
        }
        if (auto* n = t.get("step_up")) {
            r.step_up = string(*n, "step_up");
            if (r.step_up != "totp" && r.step_up != "device") {
                fail(n->source(), fmt::format("{}: step_up must be \"totp\" or \"device\"", where));
            }
        } else if (is_step_up) {
            r.step_up = "totp";
        }
        if (auto* n = t.get("purpose")) r.purpose = boolean(*n, fmt::format("{}: purpose", where));
    }

    std::string path_;
};

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

}  // namespace

const char* to_string(PdpProtocol p) {
    switch (p) {
        case PdpProtocol::Local: return "local";
        case PdpProtocol::AuthZen: return "authzen";
        case PdpProtocol::Cerbos: return "cerbos";
        case PdpProtocol::Opa: return "opa";
    }
    return "local";
}

const char* to_string(SudoApproval a) { return a == SudoApproval::Plugin ? "plugin" : "pam"; }

Result<Config> parse_config(std::string_view text, const std::string& path) {
    return parse_config_files({{path, std::string(text)}});
}

// One file: the sha256 of its bytes, as before drop-ins existed. Several: of
// each file's name and bytes, in order, so that moving a rule between files
// is a new version too.
std::string config_version(const std::vector<ConfigFile>& files) {
    if (files.size() == 1) return "sha256:" + sha256_hex(files[0].text);
    std::string all;
    for (const ConfigFile& f : files) all += f.path + '\0' + std::to_string(f.text.size()) + '\0' + f.text;
    return "sha256:" + sha256_hex(all);
}

namespace {

// [stepup] is how 0.1.0 spelled [step_up] (every other place, rules'
// step_up = and decision = "step_up" among them, has the underscore): a
// file that still uses it is read as if it said [step_up], with a warning.
Status rename_old_tables(toml::table& t, const std::string& path, std::vector<std::string>& warnings) {
    toml::node* old = t.get("stepup");
    if (!old) return Ok{};
    auto line = old->source().begin.line;
    if (t.contains("step_up")) {
        return err(
            fmt::format("{}:{}: both [stepup] and [step_up]: [stepup] is the old name of [step_up]; "
                        "keep one",
                        path, line));
    }
    toml::table* old_table = old->as_table();
    if (!old_table) return err(fmt::format("{}:{}: [stepup] must be a table", path, line));
    t.insert("step_up", std::move(*old_table));
    t.erase("stepup");
    warnings.push_back(
        fmt::format("{}:{}: [stepup] is the old name of [step_up]; it is read as [step_up]: rename it", path, line));
    return Ok{};
}

}  // namespace

Result<Config> parse_config_files(const std::vector<ConfigFile>& files) {
    if (files.empty()) return err("no configuration file");
    const std::string& path = files[0].path;
    std::string current = path;
    try {
        toml::table root;
        std::vector<std::string> warnings;
        for (const ConfigFile& f : files) {
            current = f.path;
            toml::table t = toml::parse(f.text, f.path);
            if (auto s = rename_old_tables(t, f.path, warnings); !s) return s.error();
            if (auto s = merge_config_table(root, std::move(t)); !s) return s.error();
        }
        Config c = Parser(path).parse(root);
        c.warnings = std::move(warnings);
        if (c.host.id.empty()) c.host.id = host_name();
        c.version = config_version(files);
        c.files.clear();
        for (const ConfigFile& f : files) c.files.push_back(f.path);
        return c;
    } catch (const toml::parse_error& e) {
        return err(fmt::format("{}:{}: {}", current, e.source().begin.line, e.description()));
    } catch (const ConfigError& e) {
        return err(e.message);
    }
}

Result<Config> load_config(const std::string& path) {
    auto files = read_config_files(path);
    if (!files) return files.error();
    return parse_config_files(*files);
}

}  // namespace vigil
