#include "dry_run_command.h"

#include <catch2/catch.hpp>

#include "command_pattern.h"

using vigil::add_dry_run_command;
using vigil::dry_run_request;

TEST_CASE("a dry-run command is found as sudo finds it, its argv as typed, run as root by default") {
    auto q = dry_run_request("alice", "sudo", "", "");
    REQUIRE(add_dry_run_command(q, "  id\t-u  ", "", "/tmp"));
    REQUIRE(q.sudo);
    CHECK(q.sudo->path == "/usr/bin/id");
    CHECK(q.command == std::vector<std::string>{"id", "-u"});
    CHECK(q.sudo->runas_user == "root");
    CHECK(q.sudo->runas_uid == 0u);
    CHECK(q.sudo->cwd == "/tmp");
    CHECK(q.sudo->sudoedit_files == 0);
    // As the plugin asks, whatever PAM service sudo -i uses.
    auto login = dry_run_request("alice", "sudo-i", "", "");
    REQUIRE(add_dry_run_command(login, "id", "", "/"));
    CHECK(login.service == "sudo");
}

TEST_CASE("a dry-run command given by absolute path keeps it, and resolves its symlinks") {
    auto q = dry_run_request("alice", "sudo", "", "");
    REQUIRE(add_dry_run_command(q, "/bin/sh -c true", "daemon", "/"));
    CHECK(q.sudo->path == "/bin/sh");
    CHECK(q.sudo->resolved == vigil::resolved_path("/bin/sh"));
    CHECK(q.sudo->runas_user == "daemon");
    CHECK(q.sudo->runas_uid);
}

TEST_CASE("sudoedit in a dry run names the files it edits") {
    auto q = dry_run_request("alice", "sudo", "", "");
    REQUIRE(add_dry_run_command(q, "sudoedit /etc/hosts hostname", "", "/etc"));
    CHECK(q.sudo->sudoedit_files == 2);
    CHECK(q.command == std::vector<std::string>{"sudoedit", "--", "/etc/hosts", "hostname"});
    CHECK(vigil::sudoedit_files(q.command, q.sudo->sudoedit_files, q.sudo->cwd) ==
          std::vector<std::string>{"/etc/hosts", "/etc/hostname"});
}

TEST_CASE("a dry-run command that cannot be made into what sudo would send is an error, and nothing is set") {
    const char* bad[][2] = {
        {"", ""},       {"   ", ""},      {"vigil-no-such-program-xyz", ""},
        {"bin/id", ""}, {"sudoedit", ""}, {"id", "vigil-no-such-user-xyz"},
    };
    for (auto [command, runas] : bad) {
        INFO(command << " as " << runas);
        auto q = dry_run_request("alice", "sudo", "", "");
        CHECK_FALSE(add_dry_run_command(q, command, runas, "/"));
        CHECK_FALSE(q.sudo);
        CHECK(q.command.empty());
    }
    auto q = dry_run_request("alice", "sudo", "", "");
    CHECK_FALSE(add_dry_run_command(q, "sudoedit hosts", "", ""));
}
