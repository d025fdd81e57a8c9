#include "command_pattern.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

using vigil::CommandPattern;

namespace {

bool matches(const char* pattern, const std::string& path, std::vector<std::string> args) {
    auto p = vigil::parse_command_pattern(pattern);
    REQUIRE(p);
    return vigil::command_matches(*p, {path, vigil::resolved_path(path), std::move(args)});
}

}  // namespace

TEST_CASE("command pattern: a program alone allows any arguments") {
    CHECK(matches("/usr/bin/systemctl", "/usr/bin/systemctl", {}));
    CHECK(matches("/usr/bin/systemctl", "/usr/bin/systemctl", {"stop", "sshd"}));
    CHECK_FALSE(matches("/usr/bin/systemctl", "/usr/bin/journalctl", {}));
}

TEST_CASE("command pattern: arguments written out match exactly") {
    CHECK(matches("/usr/bin/systemctl restart nginx", "/usr/bin/systemctl", {"restart", "nginx"}));
    CHECK_FALSE(matches("/usr/bin/systemctl restart nginx", "/usr/bin/systemctl", {"restart", "nginx", "sshd"}));
    CHECK_FALSE(matches("/usr/bin/systemctl restart nginx", "/usr/bin/systemctl", {"restart"}));
    CHECK_FALSE(matches("/usr/bin/systemctl  restart\tnginx", "/usr/bin/systemctl", {"stop", "nginx"}));
}

TEST_CASE("command pattern: a trailing * takes any further arguments, or none") {
    CHECK(matches("/usr/bin/systemctl status *", "/usr/bin/systemctl", {"status"}));
    CHECK(matches("/usr/bin/systemctl status *", "/usr/bin/systemctl", {"status", "nginx", "--no-pager"}));
    CHECK_FALSE(matches("/usr/bin/systemctl status *", "/usr/bin/systemctl", {"stop", "nginx"}));
}

TEST_CASE("command pattern: \"\" means no arguments at all") {
    CHECK(matches("/usr/bin/id \"\"", "/usr/bin/id", {}));
    CHECK_FALSE(matches("/usr/bin/id \"\"", "/usr/bin/id", {"-u"}));
}

TEST_CASE("command pattern: the program is matched also as its symlinks resolve") {
    auto dir = std::filesystem::temp_directory_path() / ("vigil-cmd-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "usr");
    std::filesystem::copy_file("/bin/true", dir / "usr" / "prog");
    std::filesystem::create_directory_symlink(dir / "usr", dir / "bin");
    std::string via_link = (dir / "bin" / "prog").string(), real = (dir / "usr" / "prog").string();
    auto p = vigil::parse_command_pattern(via_link);
    REQUIRE(p);
    CHECK(p->resolved == real);
    CHECK(vigil::command_matches(*p, {real, vigil::resolved_path(real), {}}));
    auto q = vigil::parse_command_pattern(real);
    REQUIRE(q);
    CHECK(vigil::command_matches(*q, {via_link, vigil::resolved_path(via_link), {}}));
    std::filesystem::remove_all(dir);
}

TEST_CASE("command pattern: sudoedit is decided on its files, never on the editor") {
    auto p = vigil::parse_command_pattern("sudoedit /etc/hosts");
    REQUIRE(p);
    auto files = vigil::sudoedit_files({"vi", "-n", "--", "/etc/hosts"}, 1, "/home/alice");
    CHECK(files == std::vector<std::string>{"/etc/hosts"});
    CHECK(vigil::command_matches(*p, {"/usr/bin/vi", "/usr/bin/vim.basic", files, true}));
    CHECK_FALSE(vigil::command_matches(*p, {"/usr/bin/vi", "/usr/bin/vim.basic", {"/etc/shadow"}, true}));
    CHECK(vigil::sudoedit_files({"vi", "--", "hosts"}, 1, "/etc") == std::vector<std::string>{"/etc/hosts"});
    CHECK(vigil::sudoedit_files({"vi", "--", "hosts"}, 1, "") == std::vector<std::string>{"hosts"});  // cwd unknown
    // SUDO_EDITOR="vi -- /etc/hosts --" puts a fake file before sudo's own
    // "--": the files are sudo's count from the end, whatever came before.
    auto injected = vigil::sudoedit_files({"vi", "--", "/etc/hosts", "--", "/etc/shadow"}, 1, "/");
    CHECK(injected == std::vector<std::string>{"/etc/shadow"});
    CHECK_FALSE(vigil::command_matches(*vigil::parse_command_pattern("sudoedit /etc/hosts *"),
                                       {"/usr/bin/vi", "/usr/bin/vi", injected, true}));
    // The editor's path allows no sudoedit, and a sudoedit pattern no command.
    auto vi = vigil::parse_command_pattern("/usr/bin/vi");
    CHECK_FALSE(vigil::command_matches(*vi, {"/usr/bin/vi", "/usr/bin/vi", files, true}));
    CHECK_FALSE(vigil::command_matches(*p, {"/usr/bin/vi", "/usr/bin/vi", {"/etc/hosts"}, false}));
    CHECK(vigil::command_matches(*vigil::parse_command_pattern("sudoedit"), {"/usr/bin/nano", "", {"/x"}, true}));
}

TEST_CASE("command pattern: what cannot be matched is refused at load") {
    for (const char* bad : {"", "   ", "systemctl restart nginx", "/usr/bin/*", "/usr/bin/systemctl * nginx",
                            "/usr/bin/systemctl restart ng*", "/usr/bin/id \"\" -u", "sudoedit hosts"}) {
        INFO(bad);
        CHECK_FALSE(vigil::parse_command_pattern(bad));
    }
}
