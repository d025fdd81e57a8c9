// The session watch over a real child process standing in for a login:
// registered when opened, forgotten when closed, ended at its limit and on
// revocation (by signals: logind is not asked here), and the end recorded.
#include "session_watch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "config.h"
#include "engine_testing.h"
#include "process_testing.h"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Watched {
    fs::path root;
    std::unique_ptr<vigil::SessionRegistry> registry;
    std::shared_ptr<vigil::Engine> engine;
    std::unique_ptr<vigil::SessionWatch> watch;

    explicit Watched(const std::string& policy = "") {
        char tmpl[] = "/tmp/vigil-watch-XXXXXX";
        root = ::mkdtemp(tmpl);
        auto reg = vigil::SessionRegistry::open((root / "state").string());
        REQUIRE(reg);
        registry = std::move(*reg);
        engine = vigil::testing::engine_on(policy);
        vigil::TerminatorSettings t;
        t.grace = 100ms;
        t.kill_wait = 100ms;
        t.use_logind = false;
        watch = std::make_unique<vigil::SessionWatch>(
            *registry, t, [this] { return engine; }, vigil::SessionWatchSettings{}, nullptr);
        watch->start();
    }
    ~Watched() {
        watch.reset();
        fs::remove_all(root);
    }
};

// A session's process: waits to be ended, dies on SIGHUP and SIGTERM.
pid_t login_process() { return vigil::testing::spawn_waiting(false, false); }

vigil::DecisionRecord open_session(pid_t pid, std::optional<std::chrono::seconds> session_max) {
    vigil::DecisionRecord r;
    r.request_id = "open-1";
    r.decision_id = "account-1";
    r.request.phase = vigil::Phase::OpenSession;
    r.request.user = "root";
    r.request.service = "sshd";
    r.request.pid = pid;
    r.decision.outcome = vigil::Outcome::Allow;
    r.decision.session_max = session_max;
    return r;
}

// Waits (bounded) for pid to exit and reaps it; true when it did.
bool ended(pid_t pid, std::chrono::seconds within) {
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

// Waits (bounded) until the watch holds n sessions.
bool holds(const vigil::SessionWatch& watch, size_t n) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (watch.list().size() != n) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

void reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("session watch: a session is listed while open and forgotten when closed", "[sessions]") {
    Watched w;
    pid_t pid = login_process();
    w.watch->opened(open_session(pid, std::nullopt));
    auto live = w.watch->list();
    REQUIRE(live.size() == 1);
    CHECK(live[0].pid == pid);
    CHECK(live[0].user == "root");
    CHECK(live[0].decision_id == "account-1");
    CHECK(w.watch->session_of(pid));
    w.watch->closed(pid);
    CHECK(w.watch->list().empty());
    CHECK_FALSE(ended(pid, 1s));  // closing forgets; it does not kill
    reap(pid);
}

TEST_CASE("session watch: a session is ended at its session_max", "[sessions]") {
    Watched w;
    pid_t pid = login_process();
    w.watch->opened(open_session(pid, 1s));
    REQUIRE(w.watch->list().size() == 1);
    bool gone = ended(pid, 20s);
    CHECK(gone);
    if (!gone) reap(pid);
    CHECK(holds(*w.watch, 0));
}

TEST_CASE("session watch: revoking ends the session; an unknown id ends nothing", "[sessions]") {
    Watched w;
    pid_t pid = login_process(), other = login_process();
    w.watch->opened(open_session(pid, std::nullopt));
    auto other_record = open_session(other, std::nullopt);
    other_record.request.user = "daemon";
    w.watch->opened(other_record);
    REQUIRE(w.watch->list().size() == 2);
    CHECK_FALSE(w.watch->revoke("no-such-session", "test"));
    CHECK(w.watch->revoke_user("root", "revoked by the test") == 1);
    bool gone = ended(pid, 20s);
    CHECK(gone);
    if (!gone) reap(pid);
    CHECK_FALSE(ended(other, 1s));  // daemon's session was not touched
    REQUIRE(holds(*w.watch, 1));
    auto left = w.watch->list();
    REQUIRE(left.size() == 1);
    CHECK(left[0].pid == other);
    reap(other);
}

// sudo with its approval plugin: a session is re-decided on the command it
// runs, not as "may use sudo" (which, in plugin mode, any allow rule that
// names commands grants).
TEST_CASE("session watch: a sudo session's re-decision asks about its command again", "[sessions]") {
    Watched w(R"(
[sudo]
approval = "plugin"

[[rule]]
name = "no sleeping"
services = ["sudo"]
commands = ["/usr/bin/sleep"]
decision = "deny"

[[rule]]
name = "root may run id and sleep"
services = ["sudo"]
users = ["root"]
commands = ["/usr/bin/id", "/usr/bin/sleep"]
decision = "allow"
)");
    auto sudo_session = [](pid_t pid, const std::string& program) {
        vigil::DecisionRecord r = open_session(pid, std::nullopt);
        r.request.service = "sudo";
        vigil::RecentDecision account;
        account.request_id = "command-1";
        account.user = "root";
        account.service = "sudo";
        account.command = true;
        account.argv = {program.substr(program.rfind('/') + 1), "60"};
        account.sudo = vigil::SudoCommand{program, program, "root", 0, "", std::nullopt, "/", 0};
        r.account = account;
        return r;
    };
    pid_t sleeping = login_process(), id = login_process();
    w.watch->opened(sudo_session(sleeping, "/usr/bin/sleep"));
    w.watch->opened(sudo_session(id, "/usr/bin/id"));
    REQUIRE(w.watch->list().size() == 2);
    CHECK(w.watch->list()[0].sudo);
    w.watch->redecide_all();  // every session is re-decided
    bool gone = ended(sleeping, 20s);
    CHECK(gone);
    if (!gone) reap(sleeping);
    REQUIRE(holds(*w.watch, 1));
    CHECK(w.watch->list()[0].pid == id);
    CHECK(w.watch->list()[0].command == std::vector<std::string>{"id", "60"});
    CHECK_FALSE(ended(id, 1s));
    reap(id);
}
