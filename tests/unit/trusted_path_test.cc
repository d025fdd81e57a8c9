// Who posture evidence may come from: the accounts trusted_ids() names, the
// owner/mode/directory rules open_trusted() applies to the files collectors
// read, and the SO_PEERCRED check exchange_unix() applies to the sockets
// they ask. Files owned by "someone else" are made in /tmp itself (root's,
// sticky): chowned to nobody when the test runs as root, left as the
// test's own uid otherwise, and judged against root alone either way.
#include "trusted_path.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "posture_testing.h"
#include "trusted_ids.h"
#include "unix_exchange.h"

using namespace std::chrono_literals;
using vigil::posture::open_trusted;
using vigil::posture::trusted_ids;
using vigil::posture::TrustedIds;

namespace {

constexpr uid_t kNobody = 65534;

// Root alone: not even the test's own uid.
TrustedIds only_root() { return TrustedIds{{0}, {0}, "root"}; }

// Root and the test's own uid, as vigild trusts itself.
TrustedIds root_and_self() { return TrustedIds{{0, ::geteuid()}, {0}, "root or the test"}; }

void write_file(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A file in /tmp owned by neither root nor (when root) the test: its uid and gid.
struct ForeignFile {
    std::string path;
    uid_t uid;
    gid_t gid;
    explicit ForeignFile(mode_t mode) {
        char tmpl[] = "/tmp/vigil-foreign-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, "status='connected'\n", 19) == 19);
        ::close(fd);
        path = tmpl;
        REQUIRE(::chmod(tmpl, mode) == 0);
        if (::geteuid() == 0) REQUIRE(::chown(tmpl, kNobody, kNobody) == 0);
        struct stat st {};
        REQUIRE(::stat(tmpl, &st) == 0);
        uid = st.st_uid;
        gid = st.st_gid;
        REQUIRE(uid != 0);
    }
    ~ForeignFile() { ::unlink(path.c_str()); }
};

std::string error_of(const std::string& path, const TrustedIds& ids) {
    auto r = open_trusted(path, ids, O_RDONLY);
    if (r) return r->has_value() ? "<opened>" : "<absent>";
    return r.error().message;
}

}  // namespace

TEST_CASE("trusted_ids: root and vigild itself, plus the named account and its group") {
    auto none = trusted_ids("");
    CHECK(none.trusts_uid(0));
    CHECK(none.trusts_uid(::geteuid()));
    CHECK(none.trusts_gid(0));
    CHECK_FALSE(none.trusts_uid(4243));
    CHECK(none.described.rfind("root", 0) == 0);

    passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    auto named = trusted_ids("nobody");
    CHECK(named.trusts_uid(nobody->pw_uid));
    CHECK(named.trusts_gid(nobody->pw_gid));
    CHECK_THAT(named.described, Catch::Contains(fmt::format("nobody (uid {})", nobody->pw_uid)));

    auto by_uid = trusted_ids("4242");
    CHECK(by_uid.trusts_uid(4242));
    CHECK_FALSE(by_uid.trusts_gid(4242));

    auto missing = trusted_ids("no-such-user-vigil");
    CHECK(missing.uids == none.uids);
    CHECK_THAT(missing.described, Catch::Contains("no user no-such-user-vigil on this host"));
}

TEST_CASE("valid_account: a user name or a uid, nothing else") {
    using vigil::posture::valid_account;
    CHECK(valid_account(""));
    CHECK(valid_account("clamav"));
    CHECK(valid_account("wazuh"));
    CHECK(valid_account("svc.edr_1-a"));
    CHECK(valid_account("112"));
    CHECK(valid_account("0"));
    CHECK_FALSE(valid_account("4294967295"));  // (uid_t)-1
    CHECK_FALSE(valid_account("99999999999"));
    CHECK_FALSE(valid_account("-clamav"));
    CHECK_FALSE(valid_account("clam av"));
    CHECK_FALSE(valid_account("clamav\n"));
    CHECK_FALSE(valid_account(std::string(33, 'a')));
}

TEST_CASE("open_trusted: a file owned by an untrusted uid is refused until its owner is trusted") {
    ForeignFile f(0644);
    CHECK(error_of(f.path, only_root()) == fmt::format("{}: refused: it is owned by uid {}, not root", f.path, f.uid));
    auto with_owner = only_root();
    with_owner.uids.push_back(f.uid);
    CHECK(error_of(f.path, with_owner) == "<opened>");
}

TEST_CASE("open_trusted: writable by others is refused; by the group only when the group is trusted") {
    ForeignFile world(0646);
    auto ids = only_root();
    ids.uids.push_back(world.uid);
    ids.gids.push_back(world.gid);
    CHECK(error_of(world.path, ids) == fmt::format("{}: refused: it is writable by others (mode 0646)", world.path));

    ForeignFile group(0664);
    auto owner_only = only_root();
    owner_only.uids.push_back(group.uid);
    CHECK(error_of(group.path, owner_only) ==
          fmt::format("{}: refused: it is writable by group {}, which is not trusted (mode 0664)", group.path,
                      group.gid));
    auto owner_and_group = owner_only;
    owner_and_group.gids.push_back(group.gid);
    CHECK(error_of(group.path, owner_and_group) == "<opened>");
}

TEST_CASE("open_trusted: a directory anyone can write is refused, unless it is sticky like /tmp") {
    std::string dir = vigil::testing::posture_temp_dir();
    write_file(dir + "/state", "x", 0644);
    CHECK(error_of(dir + "/state", root_and_self()) == "<opened>");

    REQUIRE(::chmod(dir.c_str(), 0777) == 0);
    CHECK(error_of(dir + "/state", root_and_self()) ==
          fmt::format("{0}/state: refused: {0} is writable by others (mode 0777)", dir));
    REQUIRE(::chmod(dir.c_str(), 01777) == 0);
    CHECK(error_of(dir + "/state", root_and_self()) == "<opened>");
    // Group-writable directories: only for a trusted group (wazuh's root:wazuh 0770).
    REQUIRE(::chmod(dir.c_str(), 0770) == 0);
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    auto ids = root_and_self();
    ids.gids.clear();
    CHECK_THAT(error_of(dir + "/state", ids), Catch::Contains("which is not trusted (mode 0770)"));
    ids.gids = {st.st_gid};
    CHECK(error_of(dir + "/state", ids) == "<opened>");
    std::filesystem::remove_all(dir);
}

TEST_CASE("open_trusted: symbolic links are walked, and the directories they sit in must be trusted") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::filesystem::create_directories(dir + "/real");
    std::filesystem::create_directories(dir + "/open");
    write_file(dir + "/real/state", "x", 0644);
    // A link the admin made, in a trusted directory: followed.
    std::filesystem::create_directory_symlink(dir + "/real", dir + "/via");
    std::filesystem::create_symlink("../real/state", dir + "/open/state");
    CHECK(error_of(dir + "/via/state", root_and_self()) == "<opened>");
    CHECK(error_of(dir + "/open/state", root_and_self()) == "<opened>");
    // The same link in a directory anyone can write: anyone could point it
    // at another trusted file, so it is refused even though its target passes.
    REQUIRE(::chmod((dir + "/open").c_str(), 0777) == 0);
    CHECK(error_of(dir + "/open/state", root_and_self()) ==
          fmt::format("{0}/open/state: refused: {0}/open is writable by others (mode 0777)", dir));
    // A loop ends.
    std::filesystem::create_symlink(dir + "/loop", dir + "/loop");
    CHECK_THAT(error_of(dir + "/loop", root_and_self()), Catch::Contains("more than 40 symbolic links"));
    // Absent, on any level.
    CHECK(error_of(dir + "/real/none", root_and_self()) == "<absent>");
    CHECK(error_of(dir + "/none/state", root_and_self()) == "<absent>");
    CHECK(error_of(dir + "/real/state/below", root_and_self()) == "<absent>");
    std::filesystem::remove_all(dir);
}

TEST_CASE("open_trusted: a FIFO, a directory or a relative path is refused without blocking") {
    std::string dir = vigil::testing::posture_temp_dir();
    REQUIRE(::mkfifo((dir + "/fifo").c_str(), 0600) == 0);
    CHECK(error_of(dir + "/fifo", root_and_self()) == fmt::format("{}/fifo: refused: it is not a regular file", dir));
    CHECK_THAT(error_of(dir, root_and_self()), Catch::Contains("not a regular file"));
    CHECK(error_of("relative/state", root_and_self()) == "relative/state: not an absolute path");
    CHECK(vigil::posture::check_trusted_program("/bin/sh", trusted_ids("")));
    CHECK(vigil::posture::check_trusted_program(dir + "/none", root_and_self()).error().message ==
          dir + "/none not found");
    std::filesystem::remove_all(dir);
}

namespace {

// One connection served by a child process that listens as `uid` (when the
// test runs as root; as itself otherwise). SO_PEERCRED reports who called
// listen(), so the socket is bound first and the child drops to uid before
// listening: no directory needs to be writable by uid.
class ChildServer {
public:
    ChildServer(const std::string& path, uid_t uid) : path_(path) {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) serve(uid, ready[1]);  // never returns
        ::close(ready[1]);
        char c = 0;
        REQUIRE(::read(ready[0], &c, 1) == 1);
        ::close(ready[0]);
    }
    ~ChildServer() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        ::unlink(path_.c_str());
    }

private:
    // Only system calls after fork: the parent may have threads.
    [[noreturn]] void serve(uid_t uid, int ready) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size());
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(1);
        if (::geteuid() == 0 &&
            (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)) {
            ::_exit(1);
        }
        if (::listen(fd, 4) != 0 || ::write(ready, "r", 1) != 1) ::_exit(1);
        for (;;) {
            int c = ::accept(fd, nullptr, nullptr);
            if (c < 0) ::_exit(1);
            char buf[64];
            (void)!::read(c, buf, sizeof buf);
            // The refused client hung up unasked: no SIGPIPE for that.
            (void)!::send(c, "PONG", 5, MSG_NOSIGNAL);
            ::close(c);
        }
    }

    std::string path_;
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("exchange_unix asks only a peer whose uid (SO_PEERCRED) is trusted") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string path = dir + "/agent.sock";
    ChildServer server(path, kNobody);
    uid_t peer = ::geteuid() == 0 ? kNobody : ::geteuid();

    auto refused = vigil::posture::exchange_unix({path, std::string("zPING\0", 6), 2000ms, 1024, only_root()},
                                                 vigil::posture::end_at_nul);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message,
               Catch::StartsWith(fmt::format("{}: refused: the peer runs as uid {} (pid ", path, peer)) &&
                   Catch::EndsWith("), not root"));

    auto trusted = only_root();
    trusted.uids.push_back(peer);
    auto answer = vigil::posture::exchange_unix({path, std::string("zPING\0", 6), 2000ms, 1024, trusted},
                                                vigil::posture::end_at_nul);
    INFO((answer ? "" : answer.error().message));
    REQUIRE(answer);
    CHECK(*answer == "PONG");
    if (::geteuid() == 0) {
        // The default (root and vigild itself) refuses nobody; naming the account admits it.
        CHECK_FALSE(vigil::posture::exchange_unix({path, "x", 2000ms, 1024}, vigil::posture::end_at_nul));
        CHECK(vigil::posture::exchange_unix({path, "x", 2000ms, 1024, trusted_ids("nobody")},
                                            vigil::posture::end_at_nul));
    }
    std::filesystem::remove_all(dir);
}
