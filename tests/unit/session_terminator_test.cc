#include "session_terminator.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process_testing.h"

using namespace std::chrono_literals;
using vigil::LiveSession;
using vigil::SessionTerminator;
using vigil::TerminationResult;
using vigil::TerminatorSettings;
using vigil::testing::child_signals;
using vigil::testing::spawn_waiting;
using vigil::testing::wait_forever;
namespace fs = std::filesystem;

namespace {

TerminatorSettings quick() {
    TerminatorSettings s;
    s.grace = 100ms;
    s.kill_wait = 100ms;
    return s;
}

// A session process and its child, both with the given dispositions (the
// child inherits them), as a shell and a command would be. Only
// async-signal-safe calls after fork: the test process may have threads.
struct Tree {
    pid_t child = 0;
    pid_t grandchild = 0;
};

Tree spawn_tree(bool ignore_hup, bool ignore_term, bool new_session = false) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    Tree t;
    t.child = ::fork();
    REQUIRE(t.child >= 0);
    if (t.child == 0) {
        if (new_session) ::setsid();
        child_signals(ignore_hup, ignore_term);
        pid_t g = ::fork();
        if (g == 0) wait_forever();
        if (::write(p[1], &g, sizeof g) != sizeof g) ::_exit(1);
        wait_forever();
    }
    ::close(p[1]);
    REQUIRE(::read(p[0], &t.grandchild, sizeof t.grandchild) == sizeof t.grandchild);
    ::close(p[0]);
    return t;
}

LiveSession session_of(pid_t pid) {
    LiveSession s;
    s.id = "5e55";
    s.user = "alice";
    s.service = "sshd";
    s.pid = pid;
    s.start_time = vigil::read_proc_stat(pid)->start_time;
    return s;
}

// Ends s and waits for the result (at most 10 s).
TerminationResult end_and_wait(SessionTerminator& term, const LiveSession& s) {
    std::promise<TerminationResult> result;
    auto got = result.get_future();
    REQUIRE(term.end(s, "test", [&](TerminationResult r) { result.set_value(std::move(r)); }));
    REQUIRE(got.wait_for(10s) == std::future_status::ready);
    return got.get();
}

// Alive and not a zombie (a killed child stays one until reaped).
bool running(pid_t pid) {
    auto st = vigil::read_proc_stat(pid);
    return st && !st->zombie();
}

// Waits up to 2 s for a reparented process to be gone.
bool gone_soon(pid_t pid) {
    for (int i = 0; i < 200 && running(pid); ++i) std::this_thread::sleep_for(10ms);
    return !running(pid);
}

void reap(pid_t pid) { ::waitpid(pid, nullptr, 0); }

std::string read_master(int master) {
    std::string out;
    char buf[1024];
    pollfd pfd{master, POLLIN, 0};
    while (::poll(&pfd, 1, 500) == 1) {
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

// A pty pair; the slave's path is `name`.
struct Pty {
    int master = -1, slave = -1;
    std::string name;
    Pty() {
        char path[128];
        REQUIRE(::openpty(&master, &slave, path, nullptr, nullptr) == 0);
        name = path;
    }
    ~Pty() {
        ::close(master);
        ::close(slave);
    }
};

}  // namespace

TEST_CASE("terminator escalates SIGHUP to SIGTERM to SIGKILL through the whole tree", "[sessions]") {
    Tree t = spawn_tree(true, true);
    SessionTerminator term(quick());
    auto r = end_and_wait(term, session_of(t.child));
    reap(t.child);
    CHECK_FALSE(running(t.child));
    CHECK(gone_soon(t.grandchild));
    CHECK(r.signals == std::vector<int>{SIGHUP, SIGTERM, SIGKILL});
    CHECK(r.processes == 2);
    CHECK(r.ended);
    CHECK(r.survivors == 0);
    CHECK(r.session_id == "5e55");
    CHECK(r.why == "test");
    CHECK(r.summary == "SIGHUP→SIGTERM→SIGKILL, 2 processes");
    CHECK(term.pending() == 0);
}

TEST_CASE("terminator stops at SIGTERM when that is enough", "[sessions]") {
    Tree t = spawn_tree(true, false);
    SessionTerminator term(quick());
    auto r = end_and_wait(term, session_of(t.child));
    reap(t.child);
    CHECK(gone_soon(t.grandchild));
    CHECK(r.summary == "SIGHUP→SIGTERM, 2 processes");
}

TEST_CASE("terminator needs only SIGHUP for a session that hangs up", "[sessions]") {
    pid_t child = spawn_waiting(false, false);
    TerminatorSettings slow = quick();
    slow.grace = 5s;  // finishing early proves the worker noticed the exit
    SessionTerminator term(slow);
    auto began = std::chrono::steady_clock::now();
    auto r = end_and_wait(term, session_of(child));
    CHECK(std::chrono::steady_clock::now() - began < 3s);
    reap(child);
    CHECK(r.signals == std::vector<int>{SIGHUP});
    CHECK(r.summary == "SIGHUP, 1 process");
    CHECK(r.ended);
}

TEST_CASE("terminator follows a child orphaned inside the session", "[sessions]") {
    // The session leader ignores SIGHUP and SIGTERM; its child has exited,
    // leaving a grandchild reparented away from the tree but still in the
    // session.
    int p[2], reaped[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(::pipe(reaped) == 0);
    pid_t leader = ::fork();
    REQUIRE(leader >= 0);
    if (leader == 0) {
        ::setsid();
        child_signals(true, true);
        pid_t middle = ::fork();
        if (middle == 0) {
            pid_t orphan = ::fork();
            if (orphan == 0) wait_forever();
            if (::write(p[1], &orphan, sizeof orphan) != sizeof orphan) ::_exit(1);
            ::_exit(0);  // orphan is reparented to init
        }
        ::waitpid(middle, nullptr, 0);
        if (::write(reaped[1], "x", 1) != 1) ::_exit(1);
        wait_forever();
    }
    ::close(p[1]);
    ::close(reaped[1]);
    pid_t orphan = 0;
    char byte;
    REQUIRE(::read(p[0], &orphan, sizeof orphan) == sizeof orphan);
    REQUIRE(::read(reaped[0], &byte, 1) == 1);  // middle is gone: orphan has a new parent
    ::close(p[0]);
    ::close(reaped[0]);
    REQUIRE(vigil::read_proc_stat(orphan)->ppid != leader);
    SessionTerminator term(quick());
    auto r = end_and_wait(term, session_of(leader));
    reap(leader);
    CHECK(gone_soon(orphan));
    CHECK(r.processes == 2);
    CHECK(r.ended);
}

TEST_CASE("terminator does not signal a pid whose start time does not match", "[sessions]") {
    pid_t child = spawn_waiting(false, false);
    LiveSession s = session_of(child);
    s.start_time += 1;  // what a session whose pid was reused looks like
    SessionTerminator term(quick());
    auto r = end_and_wait(term, s);
    CHECK(running(child));
    CHECK(r.signals.empty());
    CHECK(r.processes == 0);
    CHECK_THAT(r.summary, Catch::Contains("nothing signalled"));
    ::kill(child, SIGKILL);
    reap(child);
}

TEST_CASE("terminator signals when logind does not hold the session", "[sessions]") {
    pid_t child = spawn_waiting(false, false);
    LiveSession s = session_of(child);
    s.xdg_session_id = "vigil-test-no-such-session";
    SessionTerminator term(quick());
    auto r = end_and_wait(term, s);
    reap(child);
    CHECK_FALSE(r.logind);
    CHECK_FALSE(r.logind_note.empty());
    CHECK_THAT(r.summary, Catch::StartsWith("logind not used (") && Catch::EndsWith("SIGHUP, 1 process"));
}

TEST_CASE("terminator ends a session only once at a time", "[sessions]") {
    Tree t = spawn_tree(true, false);
    SessionTerminator term(quick());
    std::promise<void> finished;
    LiveSession s = session_of(t.child);
    REQUIRE(term.end(s, "first", [&](TerminationResult) { finished.set_value(); }));
    CHECK_FALSE(term.end(s, "again", [](TerminationResult) { FAIL("a second escalation ran"); }));
    REQUIRE(finished.get_future().wait_for(10s) == std::future_status::ready);
    reap(t.child);
    CHECK(gone_soon(t.grandchild));
}

TEST_CASE("terminator destructor abandons a running escalation promptly", "[sessions]") {
    Tree t = spawn_tree(true, true);
    auto began = std::chrono::steady_clock::now();
    {
        TerminatorSettings slow;
        slow.grace = 60s;
        SessionTerminator term(slow);
        CHECK(term.end(session_of(t.child), "test", [](TerminationResult) {}));
        std::this_thread::sleep_for(100ms);
        CHECK(term.pending() == 1);
    }
    CHECK(std::chrono::steady_clock::now() - began < 5s);
    ::kill(t.grandchild, SIGKILL);
    ::kill(t.child, SIGKILL);
    reap(t.child);
}

namespace {

// A stand-in for PID 1's scope: the processes it holds, signalled with
// kill(2), and what was asked of it, in order ("SIGHUP", "freeze", ...).
struct FakeScope {
    std::vector<pid_t> members;
    bool refuses_kill = false;
    std::mutex mu;
    std::vector<std::string> calls;

    explicit FakeScope(std::vector<pid_t> in, bool refuses = false) : members(std::move(in)), refuses_kill(refuses) {}

    void note(std::string call) {
        std::lock_guard lock(mu);
        calls.push_back(std::move(call));
    }
    vigil::ScopeControl control() {
        return {
            [this](const std::string& unit, int sig) -> vigil::Status {
                // Catch2 asserts on the test's thread only: a wrong unit shows in calls.
                if (unit != "vigil-session-5e55.scope") return note("wrong unit " + unit), vigil::err("no such unit");
                note(sig == SIGKILL ? "SIGKILL" : sig == SIGCONT ? "SIGCONT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
                if (refuses_kill) return vigil::err("Access denied");
                for (pid_t p : members) ::kill(p, sig);
                return vigil::Ok{};
            },
            [this](const std::string&) -> vigil::Status {
                note("freeze");
                return vigil::Ok{};
            },
            [this](const std::string& cgroup) -> std::optional<size_t> {
                if (cgroup != "/user.slice/user-1000.slice/vigil-session-5e55.scope") return std::nullopt;
                return std::count_if(members.begin(), members.end(), running);
            }};
    }
};

LiveSession scoped(pid_t pid) {
    LiveSession s = session_of(pid);
    s.scope = "/user.slice/user-1000.slice/vigil-session-5e55.scope";
    return s;
}

}  // namespace

TEST_CASE("terminator kills, through the scope, a process that left the session's tree", "[sessions]") {
    // What setsid and a double fork leave: a process in no relation to the
    // session's process, but in its scope; it ignores SIGHUP and SIGTERM.
    pid_t shell = spawn_waiting(false, false);
    pid_t escaped = spawn_waiting(true, true);
    FakeScope scope({shell, escaped});
    TerminatorSettings s = quick();
    s.scopes = scope.control();
    SessionTerminator term(s);
    auto r = end_and_wait(term, scoped(shell));
    reap(shell);
    reap(escaped);
    CHECK(r.ended);
    CHECK(r.survivors == 0);
    CHECK(r.scope == "vigil-session-5e55.scope");
    CHECK(r.scope_processes == 2);
    CHECK(r.signals == std::vector<int>{SIGHUP, SIGTERM, SIGKILL});
    CHECK(r.summary == "SIGHUP→SIGTERM→SIGKILL, 1 process (scope vigil-session-5e55.scope: 2)");
    // Frozen before the kill, so nothing in it forks in between.
    CHECK(scope.calls == std::vector<std::string>{"SIGHUP", "SIGCONT", "SIGTERM", "SIGCONT", "freeze", "SIGKILL"});
}

TEST_CASE("terminator counts what stays in a scope it cannot kill as survivors", "[sessions]") {
    pid_t shell = spawn_waiting(false, false);
    pid_t escaped = spawn_waiting(true, true);
    FakeScope scope({shell, escaped}, true);
    TerminatorSettings s = quick();
    s.scopes = scope.control();
    SessionTerminator term(s);
    auto r = end_and_wait(term, scoped(shell));
    reap(shell);
    CHECK_FALSE(r.ended);
    CHECK(r.survivors == 1);
    CHECK_THAT(r.summary, Catch::EndsWith("(scope vigil-session-5e55.scope: 2); 1 process survived SIGKILL"));
    ::kill(escaped, SIGKILL);
    reap(escaped);
}

TEST_CASE("terminator ends the scope of a session whose own process is gone", "[sessions]") {
    pid_t shell = spawn_waiting(false, false);
    LiveSession s = scoped(shell);
    ::kill(shell, SIGKILL);
    reap(shell);
    pid_t escaped = spawn_waiting(false, false);
    FakeScope scope({escaped});
    TerminatorSettings settings = quick();
    settings.scopes = scope.control();
    SessionTerminator term(settings);
    auto r = end_and_wait(term, s);
    reap(escaped);
    CHECK(r.ended);
    CHECK(r.processes == 0);
    CHECK(r.signals == std::vector<int>{SIGHUP});
}

TEST_CASE("terminator leaves alone a scope that is not a session's", "[sessions]") {
    pid_t shell = spawn_waiting(false, false);
    LiveSession s = session_of(shell);
    s.scope = "/system.slice/ssh.service";  // never the daemon's own cgroup
    bool asked = false;
    TerminatorSettings settings = quick();
    settings.scopes.kill = [&](const std::string&, int) -> vigil::Status {
        asked = true;
        return vigil::Ok{};
    };
    SessionTerminator term(settings);
    auto r = end_and_wait(term, s);
    reap(shell);
    CHECK_FALSE(asked);
    CHECK(r.scope.empty());
    CHECK(r.summary == "SIGHUP, 1 process");
}

TEST_CASE("session_tty finds the pty of a process down the tree", "[sessions]") {
    Pty pty;
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::setsid();  // no controlling tty of its own, like sshd's session process
        pid_t shell = ::fork();
        if (shell == 0) {
            if (::login_tty(pty.slave) != 0) ::_exit(1);
            wait_forever();
        }
        if (::write(p[1], &shell, sizeof shell) != sizeof shell) ::_exit(1);
        wait_forever();
    }
    ::close(p[1]);
    pid_t shell = 0;
    REQUIRE(::read(p[0], &shell, sizeof shell) == sizeof shell);
    ::close(p[0]);
    std::optional<std::string> tty;
    for (int i = 0; i < 200 && !tty; ++i) {  // until the shell has taken the pty
        tty = vigil::session_tty(child);
        if (!tty) std::this_thread::sleep_for(10ms);
    }
    CHECK(tty == std::optional<std::string>(pty.name));
    ::kill(shell, SIGKILL);
    ::kill(child, SIGKILL);
    reap(child);
}

TEST_CASE("session_tty finds nothing for a tree without a terminal", "[sessions]") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::setsid();
        wait_forever();
    }
    std::this_thread::sleep_for(20ms);
    CHECK_FALSE(vigil::session_tty(child));
    ::kill(child, SIGKILL);
    reap(child);
}

TEST_CASE("warn_tty writes the warning to the terminal", "[sessions]") {
    Pty pty;
    auto s = vigil::warn_tty(pty.name, "your session ends in 2 minutes");
    INFO((s ? std::string() : s.error().message));
    REQUIRE(s);
    CHECK_THAT(read_master(pty.master), Catch::Contains("vigil: your session ends in 2 minutes"));
}

TEST_CASE("warn_tty replaces control characters", "[sessions]") {
    Pty pty;
    REQUIRE(vigil::warn_tty(pty.name, "a\x1b[2Jb"));
    std::string got = read_master(pty.master);
    CHECK_THAT(got, Catch::Contains("a?[2Jb"));
    CHECK(got.find('\x1b') == std::string::npos);
}

TEST_CASE("warn_tty refuses files that are not terminals", "[sessions]") {
    CHECK_FALSE(vigil::warn_tty("/etc/passwd", "x"));
    CHECK_FALSE(vigil::warn_tty("/dev/null", "x"));
    CHECK_FALSE(vigil::warn_tty("/dev/pts/../../etc/passwd", "x"));
    CHECK_FALSE(vigil::warn_tty("/dev/pts/ptmx", "x"));
}

TEST_CASE("warn_tty refuses a symlink, even to a terminal", "[sessions]") {
    Pty pty;
    char tmpl[] = "/tmp/vigil-tty-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);
    fs::create_symlink(pty.name, dir / "to-pty");
    fs::create_symlink("/etc/passwd", dir / "to-passwd");
    auto s = vigil::warn_tty((dir / "to-pty").string(), "x");
    CHECK_FALSE(s);
    CHECK_FALSE(vigil::warn_tty((dir / "to-passwd").string(), "x"));
    fs::remove_all(dir);
    CHECK(read_master(pty.master).empty());
}
