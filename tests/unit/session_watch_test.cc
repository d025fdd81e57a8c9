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

    Watched() {
        char tmpl[] = "/tmp/vigil-watch-XXXXXX";
        root = ::mkdtemp(tmpl);
        auto reg = vigil::SessionRegistry::open((root / "state").string());
        REQUIRE(reg);
        registry = std::move(*reg);
        engine = vigil::testing::engine_on("");
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
