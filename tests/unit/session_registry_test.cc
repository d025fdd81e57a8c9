#include "session_registry.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using vigil::LiveSession;
using vigil::SessionRegistry;
using vigil::SessionUpdate;
using Clock = std::chrono::system_clock;
namespace fs = std::filesystem;

namespace {

// Times are stored to the millisecond; tests use whole milliseconds.
Clock::time_point at_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

// A state directory in a fresh directory under /tmp; removed with everything in it.
struct TempState {
    fs::path root;
    std::string dir;
    TempState() {
        char tmpl[] = "/tmp/vigil-sessions-XXXXXX";
        root = mkdtemp(tmpl);
        dir = (root / "state").string();
    }
    ~TempState() { fs::remove_all(root); }
    fs::path file() const { return fs::path(dir) / SessionRegistry::kFileName; }
    std::string read(const fs::path& p) const {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    void write_file(const std::string& text) const {
        fs::create_directories(dir);
        ::chmod(dir.c_str(), 0700);
        std::ofstream(file()) << text;
        REQUIRE(::chmod(file().c_str(), 0600) == 0);
    }
};

std::unique_ptr<SessionRegistry> open_ok(const std::string& dir) {
    auto r = SessionRegistry::open(dir);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    return std::move(*r);
}

// A session of this very test process: alive for as long as the test runs.
LiveSession own_session(const std::string& user = "alice") {
    LiveSession s;
    s.user = user;
    s.service = "sshd";
    s.tty = "ssh";
    s.rhost = "10.1.2.3";
    s.pid = ::getpid();
    s.decision_id = "0123456789abcdef0123456789abcdef";
    s.opened_at = at_ms(1700000000123);
    return s;
}

LiveSession full_session() {
    LiveSession s = own_session();
    s.xdg_session_id = "42";
    s.limits.max_until = at_ms(1700028800123);
    s.limits.idle_max = 900s;
    s.limits.warn_before = 120s;
    s.limits.reevaluate_every = 300s;
    s.next_reevaluation = at_ms(1700000300123);
    s.warned = true;
    s.grant_ids = {"g1", "g2"};
    s.bound_grants = {"g3"};
    s.mfa = vigil::StepUpProof{"device", at_ms(1700000000500), "sub-1", {"pwd", "otp"}, "mfa"};
    s.purpose = "INC-9";
    s.command = {"systemctl", "restart", "nginx"};
    s.sudo = vigil::SudoCommand{"/usr/bin/systemctl", "/usr/bin/systemctl", "deploy", 1001, "web", 2002, "/srv", 0};
    s.ssh_auth_info = "publickey ssh-ed25519-cert-v01@openssh.com AAAAC3...\n";
    return s;
}

LiveSession added(SessionRegistry& reg, LiveSession s) {
    auto r = reg.add(std::move(s));
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    REQUIRE(r->saved);
    return *r->session;
}

// A child that waits until killed; reaped by the caller.
pid_t spawn_sleeper() {
    pid_t pid = ::fork();
    if (pid == 0) {
        for (;;) ::pause();
    }
    REQUIRE(pid > 0);
    return pid;
}

void kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("session registry keeps every field across instances", "[sessions]") {
    TempState t;
    LiveSession s;
    {
        auto reg = open_ok(t.dir);
        s = added(*reg, full_session());
    }
    auto reg = open_ok(t.dir);
    CHECK(reg->load_report().loaded == 1);
    CHECK(reg->load_report().ended_while_down.empty());
    CHECK_FALSE(reg->load_report().problem);
    auto got = reg->find(s.id);
    REQUIRE(got);
    CHECK(got->id.size() == 32);
    CHECK(got->user == "alice");
    CHECK(got->service == "sshd");
    CHECK(got->tty == "ssh");
    CHECK(got->rhost == "10.1.2.3");
    CHECK(got->pid == ::getpid());
    CHECK(got->start_time == vigil::read_proc_stat(::getpid())->start_time);
    CHECK(got->xdg_session_id == std::optional<std::string>("42"));
    CHECK(got->decision_id == s.decision_id);
    CHECK(got->opened_at == s.opened_at);
    CHECK(got->limits.max_until == s.limits.max_until);
    CHECK(got->limits.idle_max == std::optional(900s));
    CHECK(got->limits.warn_before == std::optional(120s));
    CHECK(got->limits.reevaluate_every == std::optional(300s));
    CHECK(got->next_reevaluation == s.next_reevaluation);
    CHECK(got->warned);
    CHECK(got->grant_ids == std::vector<std::string>{"g1", "g2"});
    CHECK(got->bound_grants == std::vector<std::string>{"g3"});
    REQUIRE(got->mfa);
    CHECK(got->mfa->method == "device");
    CHECK(got->mfa->at == at_ms(1700000000500));
    CHECK(got->mfa->amr == std::vector<std::string>{"pwd", "otp"});
    CHECK(got->mfa->acr == "mfa");
    CHECK(got->purpose == "INC-9");
    CHECK(got->command == std::vector<std::string>{"systemctl", "restart", "nginx"});
    CHECK(got->ssh_auth_info == "publickey ssh-ed25519-cert-v01@openssh.com AAAAC3...\n");
    REQUIRE(got->sudo);
    CHECK(got->sudo->path == "/usr/bin/systemctl");
    CHECK(got->sudo->runas_user == "deploy");
    CHECK(got->sudo->runas_uid == std::optional<uid_t>(1001));
    CHECK(got->sudo->runas_group == "web");
    CHECK(got->sudo->runas_gid == std::optional<gid_t>(2002));
    CHECK(got->sudo->cwd == "/srv");
}

TEST_CASE("session registry leaves absent limits absent after a reload", "[sessions]") {
    TempState t;
    std::string id;
    {
        auto reg = open_ok(t.dir);
        id = added(*reg, own_session()).id;
    }
    auto got = open_ok(t.dir)->find(id);
    REQUIRE(got);
    CHECK_FALSE(got->xdg_session_id);
    CHECK_FALSE(got->limits.max_until);
    CHECK_FALSE(got->limits.idle_max);
    CHECK_FALSE(got->next_reevaluation);
    CHECK_FALSE(got->warned);
    CHECK(got->grant_ids.empty());
}

TEST_CASE("session registry: 20 sessions survive a reload", "[sessions]") {
    TempState t;
    {
        auto reg = open_ok(t.dir);
        for (int i = 0; i < 20; ++i) added(*reg, own_session("user" + std::to_string(i)));
    }
    auto reg = open_ok(t.dir);
    CHECK(reg->load_report().loaded == 20);
    auto all = reg->list();
    REQUIRE(all.size() == 20);
    std::set<std::string> users;
    for (const auto& s : all) users.insert(s.user);
    CHECK(users.size() == 20);
}

TEST_CASE("session registry writes sessions.json mode 0600", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    added(*reg, own_session());
    struct stat st {};
    REQUIRE(::lstat(t.file().c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    auto doc = nlohmann::json::parse(t.read(t.file()));
    CHECK(doc["version"] == SessionRegistry::kFormatVersion);
    CHECK(doc["sessions"].size() == 1);
}

TEST_CASE("session registry persists remove and update", "[sessions]") {
    TempState t;
    std::string keep, gone;
    {
        auto reg = open_ok(t.dir);
        keep = added(*reg, own_session("keep")).id;
        gone = added(*reg, own_session("gone")).id;
        auto removed = reg->remove(gone);
        REQUIRE(removed.session);
        CHECK(removed.session->user == "gone");
        CHECK(removed.saved);
        CHECK_FALSE(reg->remove(gone).session);
        SessionUpdate u;
        u.warned = true;
        u.next_reevaluation = at_ms(1700000999000);
        auto changed = reg->update(keep, u);
        REQUIRE(changed.session);
        CHECK(changed.saved);
        CHECK_FALSE(reg->update("ffff", u).session);
    }
    auto reg = open_ok(t.dir);
    CHECK_FALSE(reg->find(gone));
    auto got = reg->find(keep);
    REQUIRE(got);
    CHECK(got->warned);
    CHECK(got->next_reevaluation == at_ms(1700000999000));
}

TEST_CASE("session registry finds a session by its live process", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    LiveSession older = own_session("older");
    LiveSession newer = own_session("newer");
    newer.opened_at = older.opened_at + 1s;
    added(*reg, older);
    added(*reg, newer);
    auto found = reg->find_by_pid(::getpid());
    REQUIRE(found);
    CHECK(found->user == "newer");
    CHECK_FALSE(reg->find_by_pid(::getppid()));
}

TEST_CASE("session registry finds the session a descendant process runs in", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    added(*reg, own_session("me"));
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    auto found = reg->find_enclosing(child);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    REQUIRE(found);
    CHECK(found->user == "me");
    CHECK_FALSE(reg->find_enclosing(::getppid()));  // an ancestor is not inside the session
    CHECK_FALSE(reg->find_enclosing(0));
}

TEST_CASE("session registry refuses a session whose process is gone or replaced", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    pid_t dead = spawn_sleeper();
    kill_and_reap(dead);
    LiveSession s = own_session();
    s.pid = dead;
    auto r = reg->add(s);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("does not exist"));

    s = own_session();
    s.start_time = vigil::read_proc_stat(::getpid())->start_time + 1;
    r = reg->add(s);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("another process"));
    CHECK(reg->list().empty());
}

TEST_CASE("session registry drops sessions whose process ended while it was down", "[sessions]") {
    TempState t;
    pid_t child = spawn_sleeper();
    std::string live_id, dead_id;
    {
        auto reg = open_ok(t.dir);
        live_id = added(*reg, own_session("live")).id;
        LiveSession s = own_session("dead");
        s.pid = child;
        dead_id = added(*reg, s).id;
    }
    kill_and_reap(child);
    auto reg = open_ok(t.dir);
    const auto& report = reg->load_report();
    CHECK(report.loaded == 1);
    REQUIRE(report.ended_while_down.size() == 1);
    CHECK(report.ended_while_down[0].id == dead_id);
    CHECK(reg->find(live_id));
    CHECK_FALSE(reg->find(dead_id));
    // The drop reached the disk: a third instance does not report it again.
    CHECK(open_ok(t.dir)->load_report().ended_while_down.empty());
}

TEST_CASE("session registry drops a session whose pid now names another process", "[sessions]") {
    TempState t;
    {
        auto reg = open_ok(t.dir);
        added(*reg, own_session());
    }
    // Same pid, another start time: what a reused pid looks like.
    auto doc = nlohmann::json::parse(t.read(t.file()));
    doc["sessions"][0]["start_time"] = doc["sessions"][0]["start_time"].get<uint64_t>() + 1;
    t.write_file(doc.dump());
    auto reg = open_ok(t.dir);
    CHECK(reg->list().empty());
    CHECK(reg->load_report().ended_while_down.size() == 1);
}

TEST_CASE("session registry reaps sessions that ended without close_session", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    pid_t child = spawn_sleeper();
    LiveSession s = own_session("dead");
    s.pid = child;
    std::string dead_id = added(*reg, s).id;
    added(*reg, own_session("live"));
    CHECK(reg->reap_ended().ended.empty());
    kill_and_reap(child);
    auto reaped = reg->reap_ended();
    REQUIRE(reaped.ended.size() == 1);
    CHECK(reaped.ended[0].id == dead_id);
    CHECK(reaped.saved);
    CHECK(reg->list().size() == 1);
}

TEST_CASE("session registry sets a corrupt file aside and starts empty", "[sessions]") {
    TempState t;
    t.write_file("{\"version\": 1, \"sessions\": [ {\"id\": ");
    auto reg = open_ok(t.dir);
    CHECK(reg->list().empty());
    REQUIRE(reg->load_report().problem);
    CHECK_THAT(reg->load_report().problem->message, Catch::Contains("sessions.json.corrupt"));
    fs::path corrupt = fs::path(t.dir) / "sessions.json.corrupt";
    REQUIRE(fs::exists(corrupt));
    CHECK(t.read(corrupt) == "{\"version\": 1, \"sessions\": [ {\"id\": ");
    // The registry works on: a new session is written to a fresh file.
    added(*reg, own_session());
    CHECK(open_ok(t.dir)->list().size() == 1);
}

TEST_CASE("session registry treats wrong types and versions as corrupt", "[sessions]") {
    TempState t;
    SECTION("a pid that is a string") {
        t.write_file(R"({"version":1,"sessions":[{"id":"ab","user":"u","service":"s","pid":"1",)"
                     R"("start_time":1,"opened_at_ms":0}]})");
    }
    SECTION("an unknown version") { t.write_file(R"({"version":99,"sessions":[]})"); }
    auto reg = open_ok(t.dir);
    CHECK(reg->list().empty());
    CHECK(reg->load_report().problem);
    CHECK(fs::exists(fs::path(t.dir) / "sessions.json.corrupt"));
}

TEST_CASE("session registry refuses a symlinked sessions.json", "[sessions]") {
    TempState t;
    fs::create_directories(t.dir);
    ::chmod(t.dir.c_str(), 0700);
    fs::path target = t.root / "elsewhere.json";
    std::ofstream(target) << R"({"version":1,"sessions":[]})";
    fs::create_symlink(target, t.file());
    auto r = SessionRegistry::open(t.dir);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("symbolic link"));
}

TEST_CASE("session registry replaces a symlink planted later instead of writing through it", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    fs::path victim = t.root / "victim";
    std::ofstream(victim) << "untouched";
    fs::create_symlink(victim, t.file());
    fs::create_symlink(victim, fs::path(t.dir) / "sessions.json.tmp");
    added(*reg, own_session());
    CHECK(t.read(victim) == "untouched");
    CHECK_FALSE(fs::is_symlink(t.file()));
    CHECK(open_ok(t.dir)->list().size() == 1);
}

TEST_CASE("session registry refuses a group-writable state directory", "[sessions]") {
    TempState t;
    fs::create_directories(t.dir);
    REQUIRE(::chmod(t.dir.c_str(), 0770) == 0);
    auto r = SessionRegistry::open(t.dir);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("writable by group or others"));
}

TEST_CASE("a missing state directory is made 0711 whatever the umask, for the grant table in it", "[sessions]") {
    TempState t;
    mode_t old = ::umask(077);  // vigild.service's
    auto reg = SessionRegistry::open(t.dir);
    ::umask(old);
    REQUIRE(reg);
    struct stat st {};
    REQUIRE(::stat(t.dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0711);
}

TEST_CASE("session registry stops saving once its directory is loosened", "[sessions]") {
    TempState t;
    auto reg = open_ok(t.dir);
    REQUIRE(::chmod(t.dir.c_str(), 0777) == 0);
    auto r = reg->add(own_session());
    REQUIRE(r);
    CHECK(r->session);  // still enforced in memory
    REQUIRE_FALSE(r->saved);
    CHECK_THAT(r->saved.error().message, Catch::Contains("chmod 711"));
    CHECK(reg->list().size() == 1);
}

TEST_CASE("session registry refuses a sessions.json others may write", "[sessions]") {
    TempState t;
    t.write_file(R"({"version":1,"sessions":[]})");
    REQUIRE(::chmod(t.file().c_str(), 0666) == 0);
    auto r = SessionRegistry::open(t.dir);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("writable by group or others"));
}

TEST_CASE("session registry takes concurrent adds from many threads", "[sessions]") {
    TempState t;
    constexpr int kThreads = 8, kEach = 10;
    {
        auto reg = open_ok(t.dir);
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int i = 0; i < kThreads; ++i) {
            threads.emplace_back([&, i] {
                for (int j = 0; j < kEach; ++j) {
                    auto r = reg->add(own_session(fmt::format("t{}-{}", i, j)));
                    if (!r || !r->saved) ++failures;
                }
            });
        }
        for (auto& th : threads) th.join();
        CHECK(failures == 0);
        CHECK(reg->list().size() == kThreads * kEach);
    }
    CHECK(open_ok(t.dir)->list().size() == kThreads * kEach);
}

TEST_CASE("read_proc_stat reads a process and knows kernel threads", "[sessions]") {
    auto self = vigil::read_proc_stat(::getpid());
    REQUIRE(self);
    CHECK(self->ppid == ::getppid());
    CHECK(self->start_time > 0);
    CHECK_FALSE(self->kernel_thread());
    CHECK(vigil::same_process_alive(::getpid(), self->start_time));
    CHECK_FALSE(vigil::same_process_alive(::getpid(), self->start_time + 1));
    CHECK_FALSE(vigil::read_proc_stat(-1));
}
