// vigil_sudo.so's side of the SudoCommand frame (sudo_plugin/) against
// vigild's decoder: what sudo hands the plugin arrives as the request.
#include <catch2/catch.hpp>
#include <memory>

#include "command_frame.h"
#include "plugin_options.h"
#include "request_codec.h"

namespace wire = vigil::wire;

namespace {

struct Built {
    std::unique_ptr<char[]> argv = std::make_unique<char[]>(vigil::sudo::kMaxArgvBytes);
    std::unique_ptr<uint8_t[]> frame = std::make_unique<uint8_t[]>(wire::kMaxFrame);
    vigil::sudo::CommandFrame result;
};

// vectors as sudo passes them: NULL-terminated arrays of "name=value".
std::unique_ptr<Built> build(std::vector<const char*> user_info, std::vector<const char*> command_info,
                             std::vector<const char*> run_argv) {
    for (auto* v : {&user_info, &command_info, &run_argv}) v->push_back(nullptr);
    auto b = std::make_unique<Built>();
    vigil::sudo::CommandFacts f{const_cast<char* const*>(user_info.data()),
                                const_cast<char* const*>(command_info.data()),
                                const_cast<char* const*>(run_argv.data()),
                                2500,
                                0,
                                4242,
                                4000};
    b->result =
        vigil::sudo::build_command_frame(f, *reinterpret_cast<char(*)[vigil::sudo::kMaxArgvBytes]>(b->argv.get()),
                                         *reinterpret_cast<uint8_t(*)[wire::kMaxFrame]>(b->frame.get()));
    return b;
}

vigil::Result<vigil::Request> decode(const Built& b) {
    wire::Header h;
    REQUIRE(wire::parse_header(b.frame.get(), h) == wire::HeaderStatus::Ok);
    REQUIRE(h.kind == static_cast<uint16_t>(wire::Kind::SudoCommand));
    std::vector<uint8_t> payload(b.frame.get() + wire::kHeaderSize, b.frame.get() + b.result.len);
    return vigil::decode_pam_request(wire::Kind::SudoCommand, payload);
}

}  // namespace

TEST_CASE("sudo plugin frame: what sudo resolved reaches vigild as a command request") {
    auto b = build({"user=alice", "uid=1000", "tty=/dev/pts/1", "cwd=/home/alice"},
                   {"command=/usr/bin/systemctl", "runas_user=deploy", "runas_uid=1001", "runas_gid=1001",
                    "runas_group=deploy", "cwd=/srv"},
                   {"systemctl", "restart", "nginx"});
    REQUIRE(b->result.error == nullptr);
    auto q = decode(*b);
    REQUIRE(q);
    CHECK(q->phase == vigil::Phase::Command);
    CHECK(q->service == "sudo");
    CHECK(q->user == "alice");
    CHECK(q->ruser == "alice");
    CHECK(q->tty == "/dev/pts/1");
    CHECK(q->pid == 4242);
    CHECK(q->budget == std::chrono::milliseconds(2500));
    CHECK(q->command == std::vector<std::string>{"systemctl", "restart", "nginx"});
    CHECK_FALSE(q->argv_truncated);
    REQUIRE(q->sudo);
    CHECK(q->sudo->path == "/usr/bin/systemctl");
    CHECK(q->sudo->runas_user == "deploy");
    CHECK(q->sudo->runas_uid == 1001u);
    CHECK(q->sudo->runas_group == "deploy");
    CHECK(q->sudo->runas_gid == 1001u);
    CHECK(q->sudo->cwd == "/srv");
    CHECK(q->sudo->sudoedit_files == 0);
}

TEST_CASE("sudo plugin frame: sudoedit, and the user's cwd when sudoers sets none") {
    auto b = build({"user=alice", "cwd=/home/alice"},
                   {"command=/usr/bin/vi", "runas_user=root", "runas_uid=0", "sudoedit=true", "sudoedit_nfiles=1"},
                   {"vi", "--", "/etc/hosts"});
    auto q = decode(*b);
    REQUIRE(q);
    CHECK(q->sudo->sudoedit_files == 1);
    CHECK(q->sudo->cwd == "/home/alice");
    CHECK(q->command == std::vector<std::string>{"vi", "--", "/etc/hosts"});
}

TEST_CASE("sudo plugin frame: intercept's runcwd \"unknown\" sends no directory, not the user's first one") {
    auto b = build({"user=alice", "cwd=/home/alice"},
                   {"command=/usr/bin/cat", "runas_user=root", "runas_uid=0", "runcwd=unknown"}, {"cat", "hosts"});
    auto q = decode(*b);
    REQUIRE(q);
    CHECK(q->sudo->cwd.empty());
}

TEST_CASE("sudo plugin frame: sudoedit without its number of files is no frame; vigild checks the number") {
    CHECK(build({"user=alice"}, {"command=/usr/bin/vi", "sudoedit=true"}, {"vi", "--", "/etc/hosts"})->result.error !=
          nullptr);
    auto b = build({"user=alice"}, {"command=/usr/bin/vi", "sudoedit=true", "sudoedit_nfiles=3"}, {"vi", "--", "/x"});
    REQUIRE(b->result.error == nullptr);
    CHECK_FALSE(decode(*b));
}

TEST_CASE("sudo plugin frame: an argv longer than the frame allows is cut and says so") {
    std::string big(6000, 'x');
    auto b = build({"user=alice"}, {"command=/usr/bin/echo", "runas_uid=0"},
                   {"echo", big.c_str(), big.c_str(), big.c_str()});
    REQUIRE(b->result.error == nullptr);
    auto q = decode(*b);
    REQUIRE(q);
    CHECK(q->argv_truncated);
    size_t bytes = 0;
    for (const auto& a : q->command) bytes += a.size() + 1;
    CHECK(bytes - 1 == vigil::sudo::kMaxArgvBytes);
}

TEST_CASE("sudo plugin frame: without the invoker, the full path or an argv there is no frame") {
    CHECK(build({"uid=1000"}, {"command=/usr/bin/id"}, {"id"})->result.error != nullptr);
    CHECK(build({"user=alice"}, {"runas_uid=0"}, {"id"})->result.error != nullptr);
    CHECK(build({"user=alice"}, {"command=id"}, {"id"})->result.error != nullptr);
    CHECK(build({"user=alice"}, {"command=/usr/bin/id"}, {})->result.error != nullptr);
}

namespace {

// The payload of a frame of kind holding fields, as vigild's reader gets it.
std::vector<uint8_t> payload_of(wire::Kind kind, std::initializer_list<std::pair<wire::Tag, const char*>> fields) {
    std::vector<uint8_t> buf(wire::kMaxFrame);
    wire::Writer w(buf.data(), buf.size());
    for (auto& [tag, value] : fields) w.put(tag, value);
    size_t n = w.finish(kind);
    REQUIRE(n > 0);
    return {buf.begin() + wire::kHeaderSize, buf.begin() + n};
}

}  // namespace

TEST_CASE("vigild refuses a command frame without the command's path, or for another service") {
    auto no_path = payload_of(wire::Kind::SudoCommand,
                              {{wire::Tag::User, "alice"}, {wire::Tag::Service, "sudo"}, {wire::Tag::Command, "id"}});
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::SudoCommand, no_path));
    auto sshd = payload_of(wire::Kind::SudoCommand, {{wire::Tag::User, "alice"},
                                                     {wire::Tag::Service, "sshd"},
                                                     {wire::Tag::Command, "id"},
                                                     {wire::Tag::CommandPath, "/usr/bin/id"}});
    CHECK_FALSE(vigil::decode_pam_request(wire::Kind::SudoCommand, sshd));
}

TEST_CASE("vigild ignores what-sudo-resolved fields in a PAM frame") {
    auto p =
        payload_of(wire::Kind::Account,
                   {{wire::Tag::User, "alice"}, {wire::Tag::Service, "sudo"}, {wire::Tag::CommandPath, "/usr/bin/id"}});
    auto q = vigil::decode_pam_request(wire::Kind::Account, p);
    REQUIRE(q);
    CHECK_FALSE(q->sudo);
}

TEST_CASE("sudo plugin options: socket, timeout, failmode; a bad word keeps the secure default and is named") {
    std::vector<const char*> words = {"socket=/run/x.sock", "timeout=1200", "failmode=safe", nullptr};
    vigil::sudo::PluginOptions o;
    CHECK(vigil::sudo::parse_plugin_options(const_cast<char* const*>(words.data()), o) == nullptr);
    CHECK(std::string(o.socket_path) == "/run/x.sock");
    CHECK(o.timeout_ms == 1200);
    CHECK(o.failmode == vigil::sudo::FailMode::Safe);
    std::vector<const char*> bad = {"failmode=open", "timeout=0", "socket=relative", "colour=blue", nullptr};
    vigil::sudo::PluginOptions d;
    CHECK(vigil::sudo::parse_plugin_options(const_cast<char* const*>(bad.data()), d) != nullptr);
    CHECK(d.failmode == vigil::sudo::FailMode::Secure);
    CHECK(d.timeout_ms == wire::kDefaultClientTimeoutMs);
    CHECK(std::string(d.socket_path) == wire::kDefaultPamSocket);
    vigil::sudo::PluginOptions none;
    CHECK(vigil::sudo::parse_plugin_options(nullptr, none) == nullptr);
}
