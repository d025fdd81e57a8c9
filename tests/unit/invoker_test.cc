#include "invoker.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using vigil::PeerCredentials;
using vigil::real_uid_of;
using vigil::Request;
using vigil::resolve_invoker;

namespace {

// A stand-in for /proc holding one process's status file.
struct FakeProc {
    std::filesystem::path root;
    explicit FakeProc(const std::string& uid_line) {
        char tmpl[] = "/tmp/vigil-proc-XXXXXX";
        root = mkdtemp(tmpl);
        std::filesystem::create_directories(root / "4242");
        std::ofstream(root / "4242" / "status") << "Name:\tsudo\nUmask:\t0022\nState:\tS (sleeping)\n"
                                                << uid_line << "\nGid:\t0\t0\t0\t0\n";
    }
    ~FakeProc() { std::filesystem::remove_all(root); }
};

// sudo run by daemon (uid 1) under rootpw: PAM_USER root, PAM_RUSER daemon.
Request sudo_request(const std::string& ruser) {
    Request q;
    q.service = "sudo";
    q.user = "root";
    q.ruser = ruser;
    q.peer = PeerCredentials{4242, 0, 0};
    return q;
}

}  // namespace

TEST_CASE("real_uid_of reads the first field of the Uid line") {
    FakeProc proc("Uid:\t1\t0\t0\t0");
    auto uid = real_uid_of(4242, proc.root);
    REQUIRE(uid);
    CHECK(*uid == 1);
    CHECK_FALSE(real_uid_of(4243, proc.root));
    auto self = real_uid_of(getpid());
    REQUIRE(self);
    CHECK(*self == getuid());
}

TEST_CASE("real_uid_of finds the Uid line among the others, as the kernel writes them") {
    FakeProc proc(
        "Name:\tsudo\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n");
    auto uid = real_uid_of(4242, proc.root);
    REQUIRE(uid);
    CHECK(*uid == 1000);
    CHECK_FALSE(real_uid_of(4242, FakeProc("Name:\tUid:\t7\nGid:\t1\n").root));  // "Uid:" not at a line's start
    CHECK_FALSE(real_uid_of(4242, FakeProc("Uid:\t4294967295\t0\t0\t0").root));  // (uid_t)-1 names nobody
    CHECK_FALSE(real_uid_of(4242, FakeProc("Uid:\t4294967296\t0\t0\t0").root));
    CHECK_FALSE(real_uid_of(4242, FakeProc("Uid:\t12x\t0\t0\t0").root));
}

TEST_CASE("real_uid_of refuses a status without a readable Uid line") {
    CHECK_FALSE(real_uid_of(4242, FakeProc("Uid:\t-1\t0\t0\t0").root));
    CHECK_FALSE(real_uid_of(4242, FakeProc("Uid:\tx").root));
    CHECK_FALSE(real_uid_of(4242, FakeProc("Gid:\t1\t0\t0\t0").root));
}

TEST_CASE("sudo's subject is the real uid's user; PAM_USER becomes pam_user") {
    FakeProc proc("Uid:\t1\t0\t0\t0");
    Request q = sudo_request("daemon");
    REQUIRE(resolve_invoker(q, proc.root));
    CHECK(q.user == "daemon");
    CHECK(q.pam_user == "root");
}

TEST_CASE("a PAM_RUSER that names another uid, or none, is refused") {
    FakeProc proc("Uid:\t1\t0\t0\t0");
    Request q = sudo_request("root");
    auto s = resolve_invoker(q, proc.root);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "PAM_RUSER \"root\" is not the invoking user daemon (uid 1)");
    CHECK(q.user == "root");  // left as it was: the request is denied anyway
    Request unset = sudo_request("");
    CHECK_FALSE(resolve_invoker(unset, proc.root));
    Request unknown = sudo_request("no-such-user-vigil");
    CHECK_FALSE(resolve_invoker(unknown, proc.root));
}

TEST_CASE("the invoker is named through the lookups given; one that does not know the uid names nobody") {
    FakeProc proc("Uid:\t1\t0\t0\t0");
    int asked = 0;
    vigil::AccountLookups accounts{[&](uid_t uid) -> std::optional<std::string> {
                                       ++asked;
                                       if (uid == 1) return "daemon";
                                       return std::nullopt;
                                   },
                                   [&](const std::string& name) -> std::optional<uid_t> {
                                       ++asked;
                                       if (name == "daemon") return 1;
                                       return std::nullopt;
                                   }};
    Request q = sudo_request("daemon");
    REQUIRE(resolve_invoker(q, proc.root, accounts));
    CHECK(q.user == "daemon");
    CHECK(asked == 2);
    vigil::AccountLookups knows_nobody{[](uid_t) { return std::optional<std::string>(); },
                                       [](const std::string&) { return std::optional<uid_t>(); }};
    Request unknown = sudo_request("daemon");
    auto s = resolve_invoker(unknown, proc.root, knows_nobody);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == "the invoking uid 1 has no user name");
}

TEST_CASE("without peer credentials or a readable process, nobody is named") {
    Request q = sudo_request("daemon");
    q.peer.reset();
    CHECK_FALSE(resolve_invoker(q));
    FakeProc proc("Uid:\t1\t0\t0\t0");
    Request gone = sudo_request("daemon");
    gone.peer->pid = 4243;
    CHECK_FALSE(resolve_invoker(gone, proc.root));
}

TEST_CASE("sshd's subject is PAM_USER, untouched") {
    FakeProc proc("Uid:\t1\t0\t0\t0");
    Request q = sudo_request("daemon");
    q.service = "sshd";
    q.user = "alice";
    REQUIRE(resolve_invoker(q, proc.root));
    CHECK(q.user == "alice");
    CHECK(q.pam_user.empty());
    for (const char* s : {"sudo", "sudo-i", "su", "su-l"}) CHECK(vigil::subject_is_invoker(s));
    CHECK_FALSE(vigil::subject_is_invoker("sshd"));
    CHECK_FALSE(vigil::subject_is_invoker("login"));
}
