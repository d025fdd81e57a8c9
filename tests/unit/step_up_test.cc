#include "step_up.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "http_testing.h"
#include "totp_code.h"
#include "totp_store.h"

using vigil::Decision;
using vigil::Outcome;
using vigil::PeerCredentials;
using vigil::Request;
using vigil::StepUpCoordinator;
using vigil::StepUpReply;
using Kind = vigil::StepUpReply::Kind;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/vigil-step_up-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

Request sudo_request(const std::string& user, pid_t pid) {
    Request q;
    q.phase = vigil::Phase::Auth;
    q.user = user;
    q.service = "sudo";
    q.tty = "/dev/pts/3";
    q.peer = PeerCredentials{pid, 0, 0};
    return q;
}

Decision step_up(const std::string& method, bool purpose) {
    Decision d;
    d.outcome = Outcome::StepUp;
    d.step_up_method = method;
    d.needs_purpose = purpose;
    return d;
}

vigil::StepUpSettings settings(const std::string& store, std::chrono::seconds remember = std::chrono::seconds(0)) {
    vigil::StepUpSettings s;
    s.remember = remember;
    s.totp.store_dir = store + "/totp";
    s.totp_configured = true;
    s.purpose.pattern = "^[A-Z]+-[0-9]+ .+$";
    s.purpose.hint = "a ticket and words";
    return s;
}

// The code an authenticator app would show now for user's secret.
std::string current_code(const vigil::StepUpSettings& s, const std::string& base32) {
    auto secret = vigil::base32_decode(base32);
    REQUIRE(secret);
    return vigil::totp_code_for_step(*secret, vigil::totp_step(std::chrono::system_clock::now(), s.totp.period),
                                     s.totp.digits);
}

std::string enroll(const vigil::StepUpSettings& s, const std::string& user) {
    vigil::TotpStore store(s.totp);
    auto e = store.enroll(user, false);
    REQUIRE(e);
    return std::string(e->secret_base32.reveal());
}

const auto kSoon = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(3); };

}  // namespace

TEST_CASE("step-up asks for a purpose, refuses a bad one with the hint, and finishes with it", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    StepUpReply r = c.open(sudo_request("alice", 4242), step_up("", true));
    REQUIRE(r.kind == Kind::Ask);
    CHECK(r.next.echo);
    CHECK(r.next.prompt == "Reason or ticket: ");
    std::string id = r.next.challenge_id;
    CHECK(id.size() == 32);

    r = c.answer(id, "because", PeerCredentials{4242, 0, 0}, kSoon());
    REQUIRE(r.kind == Kind::Ask);
    CHECK_THAT(r.next.info, Catch::Contains("a ticket and words"));

    r = c.answer(id, "OPS-12 restart the web tier", PeerCredentials{4242, 0, 0}, kSoon());
    REQUIRE(r.kind == Kind::Done);
    CHECK(r.request.purpose == "OPS-12 restart the web tier");
    CHECK_FALSE(r.request.mfa);
    // Single use: the same challenge cannot be answered again.
    CHECK(c.answer(id, "OPS-12 again", PeerCredentials{4242, 0, 0}, kSoon()).kind == Kind::Fail);
}

TEST_CASE("step-up refuses control characters in a purpose and gives up after three tries", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    auto id = c.open(sudo_request("alice", 4242), step_up("", true)).next.challenge_id;
    CHECK(c.answer(id, "OPS-1 x\x1b[2J", PeerCredentials{4242, 0, 0}, kSoon()).kind == Kind::Ask);
    CHECK(c.answer(id, "", PeerCredentials{4242, 0, 0}, kSoon()).kind == Kind::Ask);
    StepUpReply r = c.answer(id, "no", PeerCredentials{4242, 0, 0}, kSoon());
    CHECK(r.kind == Kind::Fail);
    CHECK(r.request.user == "alice");
}

TEST_CASE("a challenge can only be answered by the process that opened it", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    auto id = c.open(sudo_request("alice", 4242), step_up("", true)).next.challenge_id;
    CHECK(c.answer(id, "OPS-1 hijack", PeerCredentials{999, 0, 0}, kSoon()).kind == Kind::Fail);
    // The owner still can.
    CHECK(c.answer(id, "OPS-1 mine", PeerCredentials{4242, 0, 0}, kSoon()).kind == Kind::Done);
    CHECK(c.answer("00000000000000000000000000000000", "x", PeerCredentials{4242, 0, 0}, kSoon()).kind == Kind::Fail);
}

TEST_CASE("a TOTP step-up accepts the right code once and then the proof carries the method", "[step_up]") {
    TempDir dir;
    auto s = settings(dir.path);
    std::string secret = enroll(s, "alice");
    StepUpCoordinator c;
    c.configure(s);
    StepUpReply r = c.open(sudo_request("alice", 4242), step_up("totp", false));
    REQUIRE(r.kind == Kind::Ask);
    CHECK_FALSE(r.next.echo);
    std::string id = r.next.challenge_id;
    r = c.answer(id, "000000" == current_code(s, secret) ? "111111" : "000000", PeerCredentials{4242, 0, 0}, kSoon());
    REQUIRE(r.kind == Kind::Ask);
    CHECK_THAT(r.next.info, Catch::Contains("Wrong code"));
    std::string code = current_code(s, secret);
    r = c.answer(id, code, PeerCredentials{4242, 0, 0}, kSoon());
    REQUIRE(r.kind == Kind::Done);
    REQUIRE(r.request.mfa);
    CHECK(r.request.mfa->method == "totp");

    // The same code in a new challenge is a replay.
    auto id2 = c.open(sudo_request("alice", 4243), step_up("totp", false)).next.challenge_id;
    r = c.answer(id2, code, PeerCredentials{4243, 0, 0}, kSoon());
    REQUIRE(r.kind == Kind::Ask);
    CHECK_THAT(r.next.info, Catch::Contains("used already"));
}

TEST_CASE("a TOTP step-up for a user without a secret fails and says how to enrol", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    StepUpReply r = c.open(sudo_request("bob", 4242), step_up("totp", false));
    REQUIRE(r.kind == Kind::Fail);
    CHECK_THAT(r.reason_user, Catch::Contains("vigilctl totp enroll bob"));
}

TEST_CASE("a sudo proof serves its own transaction once, never the shell that started it", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    Request proven = sudo_request("alice", getpid());
    proven.purpose = "OPS-1 work";
    proven.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    c.remember(proven);

    // The parent of sudo is the user's shell: `exec sudo ...` there must
    // not inherit the proof.
    Request parent = sudo_request("alice", getppid());
    parent.phase = vigil::Phase::Account;
    c.attach(parent);
    CHECK_FALSE(parent.mfa);

    Request account = sudo_request("alice", getpid());
    account.phase = vigil::Phase::Account;
    c.attach(account);
    REQUIRE(account.mfa);
    CHECK(account.purpose == "OPS-1 work");

    // The account phase used it up: the same pid asking again proves anew.
    Request again = sudo_request("alice", getpid());
    again.phase = vigil::Phase::Account;
    c.attach(again);
    CHECK_FALSE(again.mfa);
    CHECK(again.purpose.empty());
}

namespace {

const std::string kKeyA =
    "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP2R4BGewhZIVbOXiPM+0OYHgNZxPL8lHE5cIqAM5e8X\n";
const std::string kKeyB =
    "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBpJ8gt2fpObBaxgY+8f93CoriVTdS9HVpHCoZiyQDst\n";

// sshd's keyboard-interactive auth (or account phase) after a public key.
Request ssh_request(const std::string& user, pid_t pid, const std::string& auth_info) {
    Request q;
    q.phase = vigil::Phase::Auth;
    q.user = user;
    q.service = "sshd";
    q.tty = "ssh";
    q.rhost = "192.0.2.7";
    q.ssh_auth_info = auth_info;
    q.peer = PeerCredentials{pid, 0, 0};
    return q;
}

}  // namespace

TEST_CASE("sshd: the auth child's proof serves its monitor's account phase", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path));
    Request proven = ssh_request("alice", getpid(), kKeyA);
    proven.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    c.remember(proven);
    Request monitor = ssh_request("alice", getppid(), kKeyA);
    monitor.phase = vigil::Phase::Account;
    c.attach(monitor);
    CHECK(monitor.mfa);
}

TEST_CASE("the remember window binds a proof to the SSH key, not to the address", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path, std::chrono::seconds(60)));
    Request proven = ssh_request("alice", getpid(), kKeyA);
    proven.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    c.remember(proven);

    // A later login with the same key, through the same jump host.
    Request same_key = ssh_request("alice", 1, kKeyA);
    c.attach(same_key);
    CHECK(same_key.mfa);

    // Another key through the same jump host, as the same account: asked again.
    Request other_key = ssh_request("alice", 1, kKeyB);
    c.attach(other_key);
    CHECK_FALSE(other_key.mfa);

    // No key to bind to (no SSH_AUTH_INFO_0): asked again.
    Request no_key = ssh_request("alice", 1, "");
    c.attach(no_key);
    CHECK_FALSE(no_key.mfa);

    // Another user with the same key: nothing.
    Request bob = ssh_request("bob", 1, kKeyA);
    c.attach(bob);
    CHECK_FALSE(bob.mfa);

    c.forget_all();  // posture changed
    Request after = ssh_request("alice", 1, kKeyA);
    c.attach(after);
    CHECK_FALSE(after.mfa);
}

TEST_CASE("a sudo without a terminal remembers nothing past its transaction", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path, std::chrono::seconds(60)));
    Request proven = sudo_request("alice", getpid());
    proven.tty = "";
    proven.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    c.remember(proven);
    Request later = sudo_request("alice", 1);
    later.tty = "";
    c.attach(later);
    CHECK_FALSE(later.mfa);
}

TEST_CASE("without a remember window only the transaction keeps the proof", "[step_up]") {
    TempDir dir;
    StepUpCoordinator c;
    c.configure(settings(dir.path, std::chrono::seconds(0)));
    Request proven = sudo_request("alice", getpid());
    proven.mfa = vigil::StepUpProof{"totp", std::chrono::system_clock::now(), "", {}, ""};
    c.remember(proven);
    Request same_tty = sudo_request("alice", 1);
    c.attach(same_tty);
    CHECK_FALSE(same_tty.mfa);
}

namespace {

// Step-up settings whose [step_up.device] provider is server (loopback http),
// with an http_timeout far longer than any PAM module waits.
vigil::StepUpSettings device_settings(const TempDir& dir, const vigil::testing::TestHttpServer& server) {
    vigil::StepUpSettings s = settings(dir.path);
    s.device_configured = true;
    s.device.issuer = vigil::testing::url_of(server);
    s.device.client_id = "vigil";
    s.device.http_timeout = std::chrono::seconds(30);
    return s;
}

}  // namespace

TEST_CASE("a device step-up with no time left in the module's budget asks the provider nothing", "[step_up]") {
    TempDir dir;
    auto provider = vigil::testing::start_test_server(200, /*silent=*/true);
    StepUpCoordinator c;
    c.configure(device_settings(dir, *provider));
    Request q = sudo_request("alice", 4242);
    q.budget = std::chrono::milliseconds(1000);
    q.received = std::chrono::steady_clock::now() - std::chrono::seconds(2);  // the PDP took it all
    StepUpReply r = c.open(q, step_up("device", false));
    REQUIRE(r.kind == Kind::Fail);
    CHECK(r.reason_user == "access denied: the identity provider cannot be reached");
    CHECK_THAT(r.reason_admin, Catch::Contains("no time left before the PAM module's deadline"));
    CHECK(vigil::testing::requests_to(*provider) == 0);
}

TEST_CASE("a device step-up whose provider does not answer fails by the module's deadline, not http_timeout",
          "[step_up]") {
    TempDir dir;
    auto provider = vigil::testing::start_test_server(200, /*silent=*/true);
    StepUpCoordinator c;
    c.configure(device_settings(dir, *provider));
    Request q = sudo_request("alice", 4242);
    q.budget = std::chrono::milliseconds(1500);
    StepUpReply r = c.open(q, step_up("device", false));
    REQUIRE(r.kind == Kind::Fail);
    CHECK_THAT(r.reason_admin, Catch::Contains("/.well-known/openid-configuration: timeout"));
    CHECK_THAT(r.reason_admin, Catch::Contains("the PAM module's deadline left"));
    CHECK(vigil::testing::requests_to(*provider) == 1);
}

TEST_CASE("a device sign-in that starts after a reason is bounded by that answer's deadline", "[step_up]") {
    TempDir dir;
    auto provider = vigil::testing::start_test_server(200, /*silent=*/true);
    StepUpCoordinator c;
    c.configure(device_settings(dir, *provider));
    StepUpReply r = c.open(sudo_request("alice", 4242), step_up("device", true));
    REQUIRE(r.kind == Kind::Ask);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    r = c.answer(r.next.challenge_id, "OPS-7 rotate the keys", PeerCredentials{4242, 0, 0}, deadline);
    REQUIRE(r.kind == Kind::Fail);
    CHECK_THAT(r.reason_admin, Catch::Contains("the PAM module's deadline left"));
}
