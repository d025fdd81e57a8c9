#include "session_scope.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

// A /proc with one process whose cgroup file holds text.
struct FakeProc {
    fs::path root = fs::temp_directory_path() / ("vigil-scope-" + std::to_string(::getpid()));
    explicit FakeProc(const std::string& text) {
        fs::create_directories(root / "42");
        std::ofstream(root / "42" / "cgroup") << text;
    }
    ~FakeProc() { fs::remove_all(root); }
};

}  // namespace

TEST_CASE("cgroup_of reads the unified hierarchy's line", "[sessions]") {
    FakeProc v2("0::/user.slice/user-1000.slice/session-4.scope\n");
    CHECK(vigil::cgroup_of(42, v2.root) == "/user.slice/user-1000.slice/session-4.scope");
}

TEST_CASE("cgroup_of finds the unified line among v1 hierarchies", "[sessions]") {
    FakeProc hybrid(
        "9:name=systemd:/system.slice/ssh.service\n4:memory:/system.slice/ssh.service\n"
        "0::/system.slice/ssh.service\n");
    CHECK(vigil::cgroup_of(42, hybrid.root) == "/system.slice/ssh.service");
}

TEST_CASE("cgroup_of refuses a path that climbs or is not absolute, and a missing process", "[sessions]") {
    FakeProc climbing("0::/user.slice/../system.slice\n");
    CHECK_FALSE(vigil::cgroup_of(42, climbing.root));
    FakeProc relative("0::user.slice\n");
    CHECK_FALSE(vigil::cgroup_of(42, relative.root));
    CHECK_FALSE(vigil::cgroup_of(43, relative.root));
}

TEST_CASE("unit_of_cgroup names the scope or service a cgroup belongs to", "[sessions]") {
    CHECK(vigil::unit_of_cgroup("/user.slice/user-1000.slice/session-4.scope") == "session-4.scope");
    CHECK(vigil::unit_of_cgroup("/user.slice/user-1000.slice/vigil-session-ab12.scope") == "vigil-session-ab12.scope");
    CHECK(vigil::unit_of_cgroup("/system.slice/ssh.service") == "ssh.service");
    CHECK(vigil::unit_of_cgroup("/user.slice/user-1000.slice") == "");
    CHECK(vigil::unit_of_cgroup("/") == "");
    CHECK(vigil::unit_of_cgroup("") == "");
    CHECK(vigil::unit_of_cgroup("/.scope") == "");
}

TEST_CASE("is_logind_scope takes session-<id>.scope only", "[sessions]") {
    CHECK(vigil::is_logind_scope("session-4.scope"));
    CHECK(vigil::is_logind_scope("session-c12.scope"));
    CHECK_FALSE(vigil::is_logind_scope("session-.scope"));
    CHECK_FALSE(vigil::is_logind_scope("vigil-session-4.scope"));
    CHECK_FALSE(vigil::is_logind_scope("session-4.service"));
    CHECK_FALSE(vigil::is_logind_scope("session-4/x.scope"));
}

TEST_CASE("cgroup_population says a cgroup that does not exist is gone", "[sessions]") {
    CHECK_FALSE(vigil::cgroup_population("/vigil-test-no-such.slice/vigil-session-0.scope"));
    CHECK_FALSE(vigil::cgroup_population("../etc"));
}
