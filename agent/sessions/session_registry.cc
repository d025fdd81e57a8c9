#include "session_registry.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "decimal.h"
#include "fd_io.h"
#include "log.h"
#include "request_id.h"

namespace vigil {
namespace {

using Clock = std::chrono::system_clock;
using Json = nlohmann::ordered_json;

// PF_KTHREAD from the kernel's sched.h: the flag every kernel thread carries.
constexpr unsigned kPfKthread = 0x00200000;
// A /proc/<pid>/stat line is a few hundred bytes; comm is at most 16.
constexpr size_t kMaxStatBytes = 4096;
// Far beyond any real registry (a session is well under 1 KiB); a larger
// file is not one of ours and is not read into memory.
constexpr size_t kMaxFileBytes = 16 * 1024 * 1024;
// PID_MAX_LIMIT on 64-bit Linux.
constexpr int64_t kMaxPid = 4194304;
constexpr const char* kTempName = "sessions.json.tmp";
constexpr const char* kCorruptName = "sessions.json.corrupt";

std::string errno_text() { return std::strerror(errno); }

// ------------------------------------------------------------- /proc ----

Result<size_t> read_some(int fd, char* buf, size_t size) {
    ssize_t n = wire::read_full(fd, buf, size);
    if (n < 0) return err(errno_text());
    return static_cast<size_t>(n);
}

// The fields after "pid (comm) ": comm may hold spaces and ')', so the line
// is split after the *last* ')'. Field 3 (state) is fields[0].
std::optional<ProcStat> parse_stat(pid_t pid, std::string_view line) {
    size_t close = line.rfind(')');
    if (close == std::string_view::npos || close + 2 > line.size()) return std::nullopt;
    std::vector<std::string_view> fields;
    std::string_view rest = line.substr(close + 2);
    while (!rest.empty() && fields.size() < 20) {
        size_t sp = rest.find(' ');
        fields.push_back(rest.substr(0, sp));
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
    ProcStat st;
    st.pid = pid;
    bool ok = fields.size() == 20 && fields[0].size() == 1 && wire::parse_decimal_as(fields[1], st.ppid) &&
              wire::parse_decimal_as(fields[3], st.session) && wire::parse_decimal_as(fields[4], st.tty_nr) &&
              wire::parse_decimal_as(fields[6], st.flags) && wire::parse_decimal_as(fields[19], st.start_time);
    if (!ok) return std::nullopt;
    st.state = fields[0][0];
    return st;
}

// ------------------------------------------------------------- files ----

}  // namespace

Status make_state_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0711) == 0) {
        if (::chmod(dir.c_str(), 0711) != 0) return err(fmt::format("{}: chmod 711: {}", dir, errno_text()));
        return Ok{};
    }
    if (errno != EEXIST) return err(fmt::format("{}: cannot create the state directory: {}", dir, errno_text()));
    return Ok{};
}

namespace {

// The state directory, opened without following a symlink and checked like
// sshd's StrictModes: whoever can write in it can plant sessions.
Status check_dir(int fd, const std::string& dir) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return err(fmt::format("{}: cannot stat: {}", dir, errno_text()));
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return err(fmt::format("{}: owned by uid {}; the state directory must be owned by root; run chown root {}", dir,
                               st.st_uid, dir));
    }
    if ((st.st_mode & 022) != 0) {
        return err(
            fmt::format("{}: mode {:04o}: the state directory must not be writable by group or others; "
                        "run chmod 711 {}",
                        dir, st.st_mode & 07777, dir));
    }
    return Ok{};
}

Result<UniqueFd> open_state_dir(const std::string& dir) {
    if (dir.empty() || dir[0] != '/') return err(fmt::format("state_dir \"{}\" must be an absolute path", dir));
    if (auto made = make_state_dir(dir); !made) return made.error();
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && (errno == ELOOP || errno == ENOTDIR)) {
        return err(fmt::format("{}: is a symbolic link or not a directory; point state_dir at a real directory", dir));
    }
    if (!fd) return err(fmt::format("{}: cannot open: {}", dir, errno_text()));
    if (auto s = check_dir(fd.get(), dir); !s) return s.error();
    return fd;
}

Status check_file(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return err(fmt::format("{}: cannot stat: {}", path, errno_text()));
    if (!S_ISREG(st.st_mode)) return err(fmt::format("{}: not a regular file; remove it", path));
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return err(fmt::format("{}: owned by uid {}; must be owned by root; remove it", path, st.st_uid));
    }
    if ((st.st_mode & 022) != 0) {
        return err(fmt::format("{}: mode {:04o}: must not be writable by group or others; remove it", path,
                               st.st_mode & 07777));
    }
    return Ok{};
}

// The file's text; empty optional when there is no file yet. Errors here are
// refusals (a planted or loosened file), not corruption.
Result<std::optional<std::string>> read_registry_file(int dirfd, const std::string& path) {
    UniqueFd fd(::openat(dirfd, SessionRegistry::kFileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd && errno == ENOENT) return std::optional<std::string>();
    if (!fd && errno == ELOOP) return err(fmt::format("{}: is a symbolic link; refusing it; remove it", path));
    if (!fd) return err(fmt::format("{}: cannot open: {}", path, errno_text()));
    if (auto s = check_file(fd.get(), path); !s) return s.error();
    // Read in chunks up to one byte past the cap: decode_document() calls a
    // larger file corrupt without it ever being held whole.
    std::string text;
    char chunk[64 * 1024];
    while (text.size() <= kMaxFileBytes) {
        auto n = read_some(fd.get(), chunk, sizeof chunk);
        if (!n) return err(fmt::format("{}: read failed: {}", path, n.error().message));
        text.append(chunk, *n);
        if (*n < sizeof chunk) break;
    }
    return std::optional<std::string>(std::move(text));
}

Status write_all(int fd, std::string_view text) {
    if (!wire::write_full(fd, text.data(), text.size())) return err(errno_text());
    return Ok{};
}

// A leftover temp file (a crash mid-write, or something planted) is removed
// first; O_EXCL|O_NOFOLLOW then guarantees the file written is a new one.
Status write_temp(int dirfd, std::string_view text) {
    if (::unlinkat(dirfd, kTempName, 0) != 0 && errno != ENOENT) {
        return err(fmt::format("cannot remove a stale {}: {}", kTempName, errno_text()));
    }
    UniqueFd fd(::openat(dirfd, kTempName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return err(fmt::format("cannot create {}: {}", kTempName, errno_text()));
    if (::fchmod(fd.get(), 0600) != 0) return err(fmt::format("chmod {}: {}", kTempName, errno_text()));
    if (auto s = write_all(fd.get(), text); !s) return err(fmt::format("write {}: {}", kTempName, s.error().message));
    if (::fsync(fd.get()) != 0) return err(fmt::format("fsync {}: {}", kTempName, errno_text()));
    return Ok{};
}

// rename() replaces a planted symlink itself, never what it points at.
Status replace_file(int dirfd, std::string_view text) {
    if (auto s = write_temp(dirfd, text); !s) {
        ::unlinkat(dirfd, kTempName, 0);
        return s;
    }
    if (::renameat(dirfd, kTempName, dirfd, SessionRegistry::kFileName) != 0) {
        std::string why = errno_text();
        ::unlinkat(dirfd, kTempName, 0);
        return err(fmt::format("rename failed: {}", why));
    }
    if (::fsync(dirfd) != 0) return err(fmt::format("fsync of the directory failed: {}", errno_text()));
    return Ok{};
}

// Keeps the unreadable file for a post-mortem; one copy, the newest.
Status set_aside(int dirfd, const std::string& dir) {
    if (::renameat(dirfd, SessionRegistry::kFileName, dirfd, kCorruptName) != 0) {
        return err(fmt::format("cannot move it to {}/{}: {}", dir, kCorruptName, errno_text()));
    }
    ::fsync(dirfd);
    return Ok{};
}

// -------------------------------------------------------------- JSON ----

int64_t to_ms(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

template <class T>
void put(Json& j, const char* key, const std::optional<T>& v) {
    if (!v) return;
    if constexpr (std::is_same_v<T, Clock::time_point>) {
        j[key] = to_ms(*v);
    } else if constexpr (std::is_same_v<T, std::chrono::seconds>) {
        j[key] = v->count();
    } else {
        j[key] = *v;
    }
}

// Absent and null both read as "no value"; a value of the wrong type throws
// nlohmann::json::exception, caught once in decode_document().
template <class T>
std::optional<T> take(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if constexpr (std::is_same_v<T, Clock::time_point>) {
        return from_ms(it->template get<int64_t>());
    } else if constexpr (std::is_same_v<T, std::chrono::seconds>) {
        return std::chrono::seconds(it->template get<int64_t>());
    } else {
        return it->template get<T>();
    }
}

Json encode_limits(const SessionLimits& l) {
    Json j = Json::object();
    put(j, "max_until_ms", l.max_until);
    put(j, "idle_max_s", l.idle_max);
    put(j, "warn_before_s", l.warn_before);
    put(j, "reevaluate_every_s", l.reevaluate_every);
    return j;
}

Json encode_sudo_command(const SudoCommand& c) {
    Json j = {{"path", c.path},
              {"resolved", c.resolved},
              {"runas_user", c.runas_user},
              {"runas_group", c.runas_group},
              {"cwd", c.cwd},
              {"sudoedit_files", c.sudoedit_files}};
    put(j, "runas_uid", c.runas_uid);
    put(j, "runas_gid", c.runas_gid);
    return j;
}

SudoCommand decode_sudo_command(const Json& j) {
    SudoCommand c;
    c.path = j.at("path").get<std::string>();
    c.resolved = j.value("resolved", c.path);
    c.runas_user = j.value("runas_user", "");
    c.runas_group = j.value("runas_group", "");
    c.cwd = j.value("cwd", "");
    c.sudoedit_files = j.value("sudoedit_files", size_t{0});
    c.runas_uid = take<uid_t>(j, "runas_uid");
    c.runas_gid = take<gid_t>(j, "runas_gid");
    return c;
}

Json encode_session(const LiveSession& s) {
    Json j = {{"id", s.id},
              {"user", s.user},
              {"service", s.service},
              {"tty", s.tty},
              {"rhost", s.rhost},
              {"pid", s.pid},
              {"start_time", s.start_time},
              {"decision_id", s.decision_id},
              {"opened_at_ms", to_ms(s.opened_at)}};
    put(j, "xdg_session_id", s.xdg_session_id);
    j["limits"] = encode_limits(s.limits);
    put(j, "next_reevaluation_ms", s.next_reevaluation);
    j["warned"] = s.warned;
    j["grant_ids"] = s.grant_ids;
    j["bound_grants"] = s.bound_grants;
    if (s.mfa) {
        j["mfa"] = {{"method", s.mfa->method},
                    {"at_ms", to_ms(s.mfa->at)},
                    {"subject", s.mfa->subject},
                    {"amr", s.mfa->amr},
                    {"acr", s.mfa->acr}};
    }
    if (!s.purpose.empty()) j["purpose"] = s.purpose;
    if (!s.pam_user.empty()) j["pam_user"] = s.pam_user;
    if (!s.command.empty()) j["command"] = s.command;
    if (s.sudo) j["sudo"] = encode_sudo_command(*s.sudo);
    if (!s.ssh_auth_info.empty()) j["ssh_auth_info"] = s.ssh_auth_info;
    if (!s.scope.empty()) j["scope"] = s.scope;
    return j;
}

std::string encode_document(const std::map<std::string, LiveSession>& sessions) {
    Json list = Json::array();
    for (const auto& [id, s] : sessions) list.push_back(encode_session(s));
    Json doc = {{"version", SessionRegistry::kFormatVersion}, {"sessions", std::move(list)}};
    return doc.dump(1, '\t', false, Json::error_handler_t::replace) + "\n";
}

SessionLimits decode_limits(const Json& j) {
    SessionLimits l;
    if (!j.is_object()) return l;
    l.max_until = take<Clock::time_point>(j, "max_until_ms");
    l.idle_max = take<std::chrono::seconds>(j, "idle_max_s");
    l.warn_before = take<std::chrono::seconds>(j, "warn_before_s");
    l.reevaluate_every = take<std::chrono::seconds>(j, "reevaluate_every_s");
    return l;
}

bool valid_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

Result<LiveSession> decode_session(const Json& j) {
    if (!j.is_object()) return err("a session is not a JSON object");
    LiveSession s;
    s.id = j.at("id").get<std::string>();
    s.user = j.at("user").get<std::string>();
    s.service = j.at("service").get<std::string>();
    s.tty = j.value("tty", "");
    s.rhost = j.value("rhost", "");
    auto pid = j.at("pid").get<int64_t>();
    s.pid = pid > 1 && pid <= kMaxPid ? static_cast<pid_t>(pid) : 0;
    s.start_time = j.at("start_time").get<uint64_t>();
    s.xdg_session_id = take<std::string>(j, "xdg_session_id");
    s.decision_id = j.value("decision_id", "");
    s.opened_at = from_ms(j.at("opened_at_ms").get<int64_t>());
    s.limits = decode_limits(j.value("limits", Json::object()));
    s.next_reevaluation = take<Clock::time_point>(j, "next_reevaluation_ms");
    s.warned = j.value("warned", false);
    s.grant_ids = j.value("grant_ids", std::vector<std::string>());
    s.bound_grants = j.value("bound_grants", std::vector<std::string>());
    if (auto m = j.find("mfa"); m != j.end() && m->is_object()) {
        StepUpProof p;
        p.method = m->at("method").get<std::string>();
        p.at = from_ms(m->at("at_ms").get<int64_t>());
        p.subject = m->value("subject", "");
        p.amr = m->value("amr", std::vector<std::string>());
        p.acr = m->value("acr", "");
        s.mfa = std::move(p);
    }
    s.purpose = j.value("purpose", "");
    s.pam_user = j.value("pam_user", "");
    s.command = j.value("command", std::vector<std::string>());
    if (auto c = j.find("sudo"); c != j.end()) s.sudo = decode_sudo_command(*c);
    s.ssh_auth_info = j.value("ssh_auth_info", "");
    s.scope = j.value("scope", "");
    if (!valid_id(s.id)) return err("a session has an invalid id");
    if (s.pid <= 1 || s.start_time == 0) return err(fmt::format("session {} has no valid pid/start_time", s.id));
    return s;
}

Result<std::map<std::string, LiveSession>> decode_sessions(const Json& doc) {
    if (!doc.is_object()) return err("not a JSON object");
    auto version = doc.value("version", 0);
    if (version != SessionRegistry::kFormatVersion) {
        return err(fmt::format("format version {} is not one this vigild reads ({})", version,
                               SessionRegistry::kFormatVersion));
    }
    std::map<std::string, LiveSession> out;
    for (const Json& j : doc.at("sessions")) {
        auto s = decode_session(j);
        if (!s) return s.error();
        std::string id = s->id;
        if (!out.emplace(id, std::move(*s)).second) return err(fmt::format("session id {} appears twice", id));
    }
    return out;
}

Result<std::map<std::string, LiveSession>> decode_document(const std::string& text) {
    if (text.size() > kMaxFileBytes) return err(fmt::format("larger than {} bytes", kMaxFileBytes));
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) return err("not valid JSON");
    try {
        return decode_sessions(doc);
    } catch (const nlohmann::json::exception& e) {
        return err(fmt::format("unexpected content: {}", e.what()));
    }
}

}  // namespace

// ------------------------------------------------------------ ProcStat ----

// The flag, not "pid 2 or a child of it": inside a pid namespace those are
// ordinary processes.
bool ProcStat::kernel_thread() const { return (flags & kPfKthread) != 0; }

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    UniqueFd fd(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    char buf[kMaxStatBytes];
    auto n = read_some(fd.get(), buf, sizeof buf);
    if (!n || *n == 0) return std::nullopt;
    std::string_view line(buf, *n);
    if (line.back() == '\n') line.remove_suffix(1);
    return parse_stat(pid, line);
}

bool same_process_alive(pid_t pid, uint64_t start_time) {
    auto st = read_proc_stat(pid);
    return st && !st->zombie() && st->start_time == start_time;
}

// ----------------------------------------------------- SessionRegistry ----

SessionRegistry::SessionRegistry(std::string dir, UniqueFd dirfd) : dir_(std::move(dir)), dirfd_(std::move(dirfd)) {}

Result<std::unique_ptr<SessionRegistry>> SessionRegistry::open(const std::string& state_dir) {
    auto dirfd = open_state_dir(state_dir);
    if (!dirfd) return dirfd.error();
    auto text = read_registry_file(dirfd->get(), fmt::format("{}/{}", state_dir, kFileName));
    if (!text) return text.error();
    std::unique_ptr<SessionRegistry> reg(new SessionRegistry(state_dir, std::move(*dirfd)));
    if (*text) reg->load(**text);
    return reg;
}

void SessionRegistry::load(const std::string& text) {
    auto sessions = decode_document(text);
    if (!sessions) return set_aside_corrupt(sessions.error());
    std::lock_guard lock(mu_);
    sessions_ = std::move(*sessions);
    report_.ended_while_down = reap_locked();
    report_.loaded = sessions_.size();
    if (!report_.ended_while_down.empty()) {
        if (auto s = save_locked(); !s) report_.problem = s.error();
    }
}

// Refusing to start would leave every login undecided; starting empty
// loses only what the file held, and the copy keeps that for a post-mortem.
void SessionRegistry::set_aside_corrupt(const Error& why) {
    std::string problem = fmt::format("{}/{}: unreadable, starting with no sessions: {}", dir_, kFileName, why.message);
    if (auto s = set_aside(dirfd_.get(), dir_); !s) {
        problem += "; " + s.error().message;
    } else {
        problem += fmt::format("; kept as {}/{}", dir_, kCorruptName);
    }
    log_error("{}", problem);
    report_.problem = err(std::move(problem));
}

Status SessionRegistry::save_locked() {
    std::string path = fmt::format("{}/{}", dir_, kFileName);
    // Re-checked on every write: a directory an admin loosened is refused at once.
    Status s = check_dir(dirfd_.get(), dir_);
    if (s) s = replace_file(dirfd_.get(), encode_document(sessions_));
    if (s) return s;
    log_error("{}: sessions not saved: {}", path, s.error().message);
    return err(fmt::format("{}: sessions not saved: {}", path, s.error().message));
}

std::vector<LiveSession> SessionRegistry::reap_locked() {
    std::vector<LiveSession> ended;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (same_process_alive(it->second.pid, it->second.start_time)) {
            ++it;
            continue;
        }
        ended.push_back(std::move(it->second));
        it = sessions_.erase(it);
    }
    return ended;
}

Result<SessionChange> SessionRegistry::add(LiveSession s) {
    auto st = read_proc_stat(s.pid);
    if (s.pid <= 1 || !st || st->zombie()) return err(fmt::format("session process {} does not exist", s.pid));
    if (s.start_time == 0) s.start_time = st->start_time;
    if (st->start_time != s.start_time) {
        return err(fmt::format("pid {} now belongs to another process (start time {} != {})", s.pid, st->start_time,
                               s.start_time));
    }
    if (s.id.empty()) s.id = new_request_id();
    if (!valid_id(s.id)) return err(fmt::format("session id \"{}\" is not 1 to 64 lowercase hex digits", s.id));
    std::lock_guard lock(mu_);
    if (sessions_.count(s.id) != 0) return err(fmt::format("session id {} is already registered", s.id));
    auto& stored = sessions_.emplace(s.id, std::move(s)).first->second;
    return SessionChange{stored, save_locked()};
}

SessionChange SessionRegistry::remove(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return SessionChange{};
    SessionChange out{std::move(it->second), Ok{}};
    sessions_.erase(it);
    out.saved = save_locked();
    return out;
}

SessionChange SessionRegistry::update(const std::string& id, const SessionUpdate& u) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return SessionChange{};
    LiveSession& s = it->second;
    if (u.next_reevaluation) s.next_reevaluation = u.next_reevaluation;
    if (u.warned) s.warned = *u.warned;
    if (u.limits) s.limits = *u.limits;
    if (u.grant_ids) s.grant_ids = *u.grant_ids;
    if (u.bound_grants) s.bound_grants = *u.bound_grants;
    return SessionChange{s, save_locked()};
}

std::optional<LiveSession> SessionRegistry::find(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second;
}

std::optional<LiveSession> SessionRegistry::find_by_pid(pid_t pid) const {
    auto st = read_proc_stat(pid);
    if (!st || st->zombie()) return std::nullopt;
    std::lock_guard lock(mu_);
    const LiveSession* newest = nullptr;
    for (const auto& [id, s] : sessions_) {
        if (s.pid != pid || s.start_time != st->start_time) continue;
        if (!newest || s.opened_at > newest->opened_at) newest = &s;
    }
    if (!newest) return std::nullopt;
    return *newest;
}

std::optional<LiveSession> SessionRegistry::find_enclosing(pid_t pid) const {
    // Bounded: a ppid chain is short, and a loop (pid reuse while walking)
    // must not hang the caller.
    for (int depth = 0; depth < 64 && pid > 1; ++depth) {
        if (auto s = find_by_pid(pid)) return s;
        auto st = read_proc_stat(pid);
        if (!st) return std::nullopt;
        pid = st->ppid;
    }
    return std::nullopt;
}

std::vector<LiveSession> SessionRegistry::list() const {
    std::lock_guard lock(mu_);
    std::vector<LiveSession> out;
    out.reserve(sessions_.size());
    for (const auto& [id, s] : sessions_) out.push_back(s);
    return out;
}

SessionReap SessionRegistry::reap_ended() {
    std::lock_guard lock(mu_);
    SessionReap out{reap_locked(), Ok{}};
    if (!out.ended.empty()) out.saved = save_locked();
    return out;
}

}  // namespace vigil
