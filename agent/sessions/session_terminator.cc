#include "session_terminator.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <utility>

#include "decimal.h"
#include "fd_io.h"
#include "log.h"
#include "unique_fd.h"

namespace vigil {
namespace {

using Steady = std::chrono::steady_clock;

// How often a waiting escalation looks whether its processes are all gone,
// so a session that ends on SIGHUP is reported without waiting the grace.
constexpr std::chrono::milliseconds kPoll{50};
// SIGKILL rounds: each re-reads the tree, catching children forked since.
constexpr int kKillRounds = 3;
constexpr int kPtsMajorFirst = 136;  // UNIX98_PTY_SLAVE_MAJOR ..
constexpr int kPtsMajorLast = 143;   // .. + UNIX98_PTY_MAJOR_COUNT - 1
constexpr int kTtyMajor = 4;         // virtual consoles tty1..tty63
constexpr int kMaxVirtualConsole = 63;

const char* signal_name(int sig) {
    switch (sig) {
        case SIGHUP: return "SIGHUP";
        case SIGTERM: return "SIGTERM";
        case SIGKILL: return "SIGKILL";
        default: return "signal";
    }
}

// ---------------------------------------------------------- processes ----

std::vector<ProcStat> all_processes() {
    std::vector<ProcStat> out;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
    if (!dir) return out;
    while (dirent* e = ::readdir(dir.get())) {
        pid_t pid = 0;
        if (!wire::parse_decimal_as(e->d_name, pid) || pid <= 0) continue;
        if (auto st = read_proc_stat(static_cast<pid_t>(pid))) out.push_back(*st);
    }
    return out;
}

// Never pid 1, never vigild itself, never a kernel thread; a zombie is
// already dead.
bool signallable(const ProcStat& p) { return p.pid > 1 && p.pid != ::getpid() && !p.kernel_thread() && !p.zombie(); }

// Sends sig only if pid is still the process that had start_time. The pidfd
// pins the process before the check, so the check cannot go stale before
// the signal; without pidfds (kernel < 5.3) a tiny window remains.
bool send_verified(pid_t pid, uint64_t start_time, int sig) {
    // Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" and does not link from C++.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd && errno != ENOSYS) return false;
    auto st = read_proc_stat(pid);
    if (!st || st->start_time != start_time || !signallable(*st)) return false;
    if (pidfd) return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
    return ::kill(pid, sig) == 0;
}

// The session's processes: children (whatever their depth) of a known
// process, and members of a session a known process leads. The kernel
// keeps a session id from being reused while any member lives, so the second
// rule safely finds children orphaned by a parent that died ("nohup cmd &").
class ProcessTree {
public:
    struct Known {
        uint64_t start_time;
        bool leader;
    };

    // Remembers root unless it is gone or its pid now names another process.
    void seed(pid_t root, uint64_t start_time) {
        auto st = read_proc_stat(root);
        if (st && st->start_time == start_time && signallable(*st)) add(*st);
    }

    // Re-reads /proc and adds every process the rules above reach.
    void refresh() {
        auto procs = all_processes();
        for (bool grew = true; grew;) {
            grew = false;
            for (const ProcStat& p : procs) {
                auto k = known_.find(p.pid);
                if (k != known_.end() && k->second.start_time == p.start_time) continue;
                if (!signallable(p) || !belongs(p, procs)) continue;
                add(p);
                grew = true;
            }
        }
    }

    // Known processes still alive with their recorded start time.
    std::vector<std::pair<pid_t, uint64_t>> alive() const {
        std::vector<std::pair<pid_t, uint64_t>> out;
        for (const auto& [pid, k] : known_) {
            auto st = read_proc_stat(pid);
            if (st && st->start_time == k.start_time && !st->zombie()) out.emplace_back(pid, k.start_time);
        }
        return out;
    }

    bool empty() const { return known_.empty(); }

private:
    // A pid reused inside the session replaces the dead process it named.
    void add(const ProcStat& p) { known_[p.pid] = Known{p.start_time, p.session == p.pid}; }

    // Is p's parent a known process that is still the one recorded, or is
    // p in a session a known process led? Checked against this scan. A
    // session whose leader is gone still counts; one whose leader's pid now
    // names another process does not (belt and braces: see above).
    bool belongs(const ProcStat& p, const std::vector<ProcStat>& procs) const {
        auto parent = known_.find(p.ppid);
        if (parent != known_.end() && current_start(p.ppid, procs) == parent->second.start_time) return true;
        auto leader = known_.find(p.session);
        if (leader == known_.end() || !leader->second.leader) return false;
        uint64_t now = current_start(p.session, procs);
        return now == 0 || now == leader->second.start_time;
    }

    static uint64_t current_start(pid_t pid, const std::vector<ProcStat>& procs) {
        for (const ProcStat& p : procs) {
            if (p.pid == pid) return p.start_time;
        }
        return 0;
    }

    std::map<pid_t, Known> known_;
};

// -------------------------------------------------------------- logind ----

// Asks logind to end xdg_id, but only if logind itself places pid in that
// session: a stale or borrowed id (sudo inherits its caller's) must not end
// someone's whole login.
Status logind_terminate(pid_t pid, const std::string& xdg_id, std::chrono::milliseconds timeout) {
    char* in_session = nullptr;
    int r = ::sd_pid_get_session(pid, &in_session);
    std::unique_ptr<char, void (*)(void*)> owned(in_session, ::free);
    if (r < 0) return err(fmt::format("process {} is in no logind session ({})", pid, std::strerror(-r)));
    if (xdg_id != in_session) {
        return err(fmt::format("process {} is in logind session {}, not {}", pid, in_session, xdg_id));
    }
    sd_bus* raw = nullptr;
    if ((r = ::sd_bus_open_system(&raw)) < 0) return err(fmt::format("no system bus: {}", std::strerror(-r)));
    std::unique_ptr<sd_bus, sd_bus* (*)(sd_bus*)> bus(raw, ::sd_bus_flush_close_unref);
    ::sd_bus_set_method_call_timeout(bus.get(), std::chrono::microseconds(timeout).count());
    sd_bus_error error = SD_BUS_ERROR_NULL;
    r = ::sd_bus_call_method(bus.get(), "org.freedesktop.login1", "/org/freedesktop/login1",
                             "org.freedesktop.login1.Manager", "TerminateSession", &error, nullptr, "s",
                             xdg_id.c_str());
    std::string why = error.message ? error.message : std::strerror(-r);
    ::sd_bus_error_free(&error);
    if (r < 0) return err(fmt::format("TerminateSession {}: {}", xdg_id, why));
    return Ok{};
}

// Where an escalation stands: which step ran last, so which comes next.
enum class Stage { Start, AfterLogind, AfterHup, AfterTerm, AfterKill, Done };

}  // namespace

// ----------------------------------------------------------- escalation ----

struct SessionTerminator::Escalation {
    LiveSession session;
    Done done;
    TerminationResult result;
    Stage stage = Stage::Start;
    Steady::time_point deadline{};    // end of the current wait
    Steady::time_point next_check{};  // when the worker next looks
    ProcessTree tree;
    std::set<pid_t> signalled;
    int kill_rounds = 0;
    std::string unit;  // the session's scope, when it has one
    bool frozen = false;
    bool scope_failed = false;  // PID 1 refused once: said in the log once
};

namespace {

using Escalation = SessionTerminator::Escalation;

// What is left of the session: its tree's processes, or its scope's when
// the scope holds more (a process that left the tree is still in it).
size_t remaining(const Escalation& e, const TerminatorSettings& s) {
    size_t tree = e.tree.alive().size();
    if (e.unit.empty() || !s.scopes.population) return tree;
    return std::max(tree, s.scopes.population(e.session.scope).value_or(0));
}

void scope_call(Escalation& e, const char* what, const Status& done) {
    if (done || e.scope_failed) return;
    e.scope_failed = true;
    log_info("session {}: {} of {}: {}", e.session.id, what, e.unit, done.error().message);
}

// Sends sig to every process of e's scope; freezes it first for SIGKILL,
// so nothing in it forks between the kill and the count.
void signal_scope(Escalation& e, int sig, const TerminatorSettings& s) {
    if (e.unit.empty() || !s.scopes.kill) return;
    if (sig == SIGKILL && !e.frozen && s.scopes.freeze) {
        Status frozen = s.scopes.freeze(e.unit);
        e.frozen = static_cast<bool>(frozen);
        if (!frozen) log_info("session {}: cannot freeze {}: {}", e.session.id, e.unit, frozen.error().message);
    }
    scope_call(e, signal_name(sig), s.scopes.kill(e.unit, sig));
    if (sig != SIGKILL) scope_call(e, "SIGCONT", s.scopes.kill(e.unit, SIGCONT));
}

// The tree first, so the result counts the processes it knew; then the
// scope, for whatever left the tree.
void signal_tree(Escalation& e, int sig, const TerminatorSettings& s) {
    e.tree.refresh();
    for (auto [pid, start] : e.tree.alive()) {
        if (!send_verified(pid, start, sig)) continue;
        e.signalled.insert(pid);
        // A stopped process acts on SIGHUP/SIGTERM only once continued.
        if (sig != SIGKILL) send_verified(pid, start, SIGCONT);
    }
    signal_scope(e, sig, s);
    if (e.result.signals.empty() || e.result.signals.back() != sig) e.result.signals.push_back(sig);
    e.result.processes = e.signalled.size();
}

std::string summarize(const Escalation& e) {
    const TerminationResult& r = e.result;
    std::string out;
    if (r.logind) out = fmt::format("logind TerminateSession {}", e.session.xdg_session_id.value_or(""));
    if (!r.logind && !r.logind_note.empty()) out = fmt::format("logind not used ({})", r.logind_note);
    if (!r.signals.empty()) {
        std::string chain;
        for (int sig : r.signals) chain += fmt::format("{}{}", chain.empty() ? "" : "→", signal_name(sig));
        out += fmt::format("{}{}, {} process{}", out.empty() ? "" : "; ", chain, r.processes,
                           r.processes == 1 ? "" : "es");
        if (!r.scope.empty()) out += fmt::format(" (scope {}: {})", r.scope, r.scope_processes);
    } else if (!r.logind) {
        out += fmt::format("{}nothing signalled: process {} is gone or was replaced", out.empty() ? "" : "; ",
                           e.session.pid);
    }
    if (r.survivors > 0) {
        out += fmt::format("; {} process{} survived SIGKILL", r.survivors, r.survivors == 1 ? "" : "es");
    }
    return out;
}

// Marks e over; `survivors` are the processes still alive.
void finish(Escalation& e, size_t survivors) {
    e.result.survivors = survivors;
    e.result.ended = survivors == 0;
    e.result.summary = summarize(e);
    e.stage = Stage::Done;
}

void wait_then(Escalation& e, Stage next, std::chrono::milliseconds wait) {
    e.stage = next;
    e.deadline = Steady::now() + wait;
}

// The session's scope unit, if its recorded cgroup names one.
std::string scope_unit(const LiveSession& s) {
    std::string unit = unit_of_cgroup(s.scope);
    bool ours = unit.starts_with("vigil-session-") && unit.ends_with(".scope");
    return ours || is_logind_scope(unit) ? unit : std::string();
}

void start(Escalation& e, const TerminatorSettings& s) {
    e.tree.seed(e.session.pid, e.session.start_time);
    e.unit = scope_unit(e.session);
    if (!e.unit.empty()) {
        e.result.scope = e.unit;
        e.result.scope_processes = s.scopes.population ? s.scopes.population(e.session.scope).value_or(0) : 0;
        if (e.result.scope_processes == 0) e.unit.clear();  // gone, or emptied: nothing to kill there
    }
    if (e.tree.empty() && e.unit.empty()) return finish(e, 0);
    e.tree.refresh();  // before logind empties the scope: orphans are then still findable
    if (s.use_logind && e.session.xdg_session_id) {
        Status asked = logind_terminate(e.session.pid, *e.session.xdg_session_id, s.logind_timeout);
        if (asked) {
            e.result.logind = true;
            return wait_then(e, Stage::AfterLogind, s.grace);
        }
        e.result.logind_note = asked.error().message;
        log_info("session {}: {}; signalling its processes", e.session.id, e.result.logind_note);
    }
    signal_tree(e, SIGHUP, s);
    wait_then(e, Stage::AfterHup, s.grace);
}

// One look at e: finishes it, moves it to its next step, or leaves it waiting.
void advance(Escalation& e, const TerminatorSettings& s) {
    if (e.stage == Stage::Start) return start(e, s);
    size_t left = remaining(e, s);
    if (left == 0) return finish(e, 0);
    if (Steady::now() < e.deadline) return;
    switch (e.stage) {
        case Stage::AfterLogind:
        case Stage::AfterHup: signal_tree(e, SIGTERM, s); return wait_then(e, Stage::AfterTerm, s.grace);
        case Stage::AfterTerm:
        case Stage::AfterKill:
            if (e.kill_rounds == kKillRounds) return finish(e, left);
            ++e.kill_rounds;
            signal_tree(e, SIGKILL, s);
            return wait_then(e, Stage::AfterKill, s.kill_wait);
        default: return;
    }
}

// Advances each escalation in due; returns the finished ones, taken out of due.
std::vector<std::unique_ptr<Escalation>> advance_all(std::list<std::unique_ptr<Escalation>>& due,
                                                     const TerminatorSettings& s) {
    std::vector<std::unique_ptr<Escalation>> finished;
    for (auto it = due.begin(); it != due.end();) {
        auto next = std::next(it);
        advance(**it, s);
        (*it)->next_check = std::min((*it)->deadline, Steady::now() + kPoll);
        if ((*it)->stage == Stage::Done) {
            finished.push_back(std::move(*it));
            due.erase(it);
        }
        it = next;
    }
    return finished;
}

// Logs the outcome and hands it to the caller. The one place a caller's
// exception is caught: it must not end the worker (and with it vigild,
// through std::terminate).
void report(Escalation& e) {
    log_info("ending session {} ({}): {}", e.session.id, e.result.why, e.result.summary);
    if (!e.done) return;
    try {
        e.done(std::move(e.result));
    } catch (const std::exception& ex) {
        log_error("session {}: the caller's done() threw: {}", e.session.id, ex.what());
    }
}

}  // namespace

// ---------------------------------------------------- SessionTerminator ----

SessionTerminator::SessionTerminator(TerminatorSettings settings) : settings_(settings), worker_([this] { run(); }) {}

SessionTerminator::~SessionTerminator() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
}

bool SessionTerminator::end(const LiveSession& s, std::string why, Done done) {
    auto e = std::make_unique<Escalation>();
    e->session = s;
    e->done = std::move(done);
    e->result.session_id = s.id;
    e->result.why = std::move(why);
    e->next_check = Steady::now();
    {
        std::lock_guard lock(mu_);
        if (!active_.insert(s.id).second) return false;
        queue_.push_back(std::move(e));
    }
    wake_.notify_all();
    return true;
}

size_t SessionTerminator::pending() const {
    std::lock_guard lock(mu_);
    return active_.size();
}

bool SessionTerminator::ending(const std::string& session_id) const {
    std::lock_guard lock(mu_);
    return active_.count(session_id) != 0;
}

Steady::time_point SessionTerminator::next_wake_locked() const {
    auto at = Steady::time_point::max();
    for (const auto& e : queue_) at = std::min(at, e->next_check);
    return at;
}

std::list<std::unique_ptr<SessionTerminator::Escalation>> SessionTerminator::take_due_locked() {
    std::list<std::unique_ptr<Escalation>> due;
    auto now = Steady::now();
    for (auto it = queue_.begin(); it != queue_.end();) {
        auto next = std::next(it);
        if ((*it)->next_check <= now) due.splice(due.end(), queue_, it);
        it = next;
    }
    return due;
}

void SessionTerminator::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        auto wake_at = next_wake_locked();
        if (Steady::now() < wake_at) {
            wake_.wait_until(lock, wake_at);
            continue;
        }
        auto due = take_due_locked();
        lock.unlock();  // /proc, signals and logind run without the lock: end() never waits on them
        auto finished = advance_all(due, settings_);
        lock.lock();
        queue_.splice(queue_.end(), due);
        // Over before `done` runs: done may end the session's successor, and
        // pending() never counts a session whose result is out.
        for (auto& e : finished) active_.erase(e->session.id);
        lock.unlock();
        for (auto& e : finished) report(*e);
        lock.lock();
    }
}

// ------------------------------------------------------------ terminals ----

namespace {

// /proc/<pid>/stat's tty_nr uses the kernel's new_encode_dev layout.
std::optional<std::string> tty_path(int tty_nr) {
    unsigned major = (static_cast<unsigned>(tty_nr) >> 8) & 0xfff;
    unsigned minor = (static_cast<unsigned>(tty_nr) & 0xff) | ((static_cast<unsigned>(tty_nr) >> 12) & 0xfff00);
    std::string path;
    if (major >= kPtsMajorFirst && major <= kPtsMajorLast) {
        path = fmt::format("/dev/pts/{}", (major - kPtsMajorFirst) * 256 + minor);
    } else if (major == kTtyMajor && minor >= 1 && minor <= kMaxVirtualConsole) {
        path = fmt::format("/dev/tty{}", minor);
    } else {
        return std::nullopt;
    }
    struct stat st {};
    // The node must be that very device: /dev/pts may be another instance.
    if (::stat(path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(major, minor)) {
        return std::nullopt;
    }
    return path;
}

// A decimal number without leading zeros, at most max.
bool small_number(std::string_view digits, unsigned max) {
    uint64_t n = 0;
    return wire::parse_decimal(digits, max, n, wire::LeadingZeros::Refused);
}

// "/dev/pts/N" or "/dev/ttyN" (a virtual console, 1..63).
bool terminal_path(std::string_view path) {
    constexpr std::string_view kPts = "/dev/pts/", kTty = "/dev/tty";
    if (path.starts_with(kPts)) return small_number(path.substr(kPts.size()), 1u << 20);
    return path.starts_with(kTty) && small_number(path.substr(kTty.size()), kMaxVirtualConsole) && path != "/dev/tty0";
}

bool terminal_device(const struct stat& st) {
    if (!S_ISCHR(st.st_mode)) return false;
    unsigned m = major(st.st_rdev);
    return (m >= kPtsMajorFirst && m <= kPtsMajorLast) || m == kTtyMajor;
}

std::string warning_text(std::string_view text) {
    text = text.substr(0, kMaxWarningBytes);
    std::string out = "\r\nvigil: ";
    for (unsigned char c : text) {
        if (c == '\n') {
            out += "\r\n";
        } else {
            out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
        }
    }
    return out + "\r\n";
}

}  // namespace

std::optional<std::string> session_tty(pid_t session_pid) {
    auto procs = all_processes();
    std::unordered_map<pid_t, std::vector<const ProcStat*>> children;
    const ProcStat* root = nullptr;
    for (const ProcStat& p : procs) {
        children[p.ppid].push_back(&p);
        if (p.pid == session_pid) root = &p;
    }
    if (!root) return std::nullopt;
    std::deque<const ProcStat*> queue{root};
    while (!queue.empty()) {
        const ProcStat* p = queue.front();
        queue.pop_front();
        if (p->tty_nr != 0 && !p->zombie()) {
            if (auto path = tty_path(p->tty_nr)) return path;
        }
        for (const ProcStat* c : children[p->pid]) queue.push_back(c);
    }
    return std::nullopt;
}

Status warn_tty(const std::string& tty_path_in, std::string_view text) {
    std::string path = tty_path_in.starts_with("/") ? tty_path_in : "/dev/" + tty_path_in;
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) return err(fmt::format("{}: {}", path, std::strerror(errno)));
    // Canonical already: a symlink, "..", or anything but a terminal is refused.
    if (path != resolved || !terminal_path(path)) {
        return err(fmt::format("{}: not a terminal path (/dev/pts/N or /dev/ttyN); not writing to it", path));
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return err(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !terminal_device(st)) {
        return err(fmt::format("{}: not a terminal device; not writing to it", path));
    }
    std::string message = warning_text(text);
    if (!wire::write_full(fd.get(), message.data(), message.size())) {
        return err(fmt::format("{}: writing {} bytes: {}", path, message.size(), std::strerror(errno)));
    }
    return Ok{};
}

}  // namespace vigil
