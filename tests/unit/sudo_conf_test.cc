#include "sudo_conf.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

namespace {

const char* kConf =
    "# sudo.conf\n"
    "Set group_source dynamic\n"
    "#Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so\n"
    "plugin  vigil_approval\tvigil_sudo.so timeout=3000\n"
    "Plugin sudoers_policy sudoers.so\n";

std::string temp_dir() {
    char dir[] = "/tmp/vigil-sudo-conf-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    return dir;
}

void write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    REQUIRE(chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("sudo.conf: the lines that load vigil's plugin, as sudo reads them") {
    auto found = vigil::vigil_plugin_lines(kConf);
    REQUIRE(found.size() == 1);  // a comment loads nothing; the directive is any case
    CHECK(found[0].line == 4);
    CHECK(found[0].path == "/usr/libexec/sudo/vigil_sudo.so");  // no path: sudo's plugin_dir
    CHECK(vigil::vigil_plugin_lines("Plugin vigil_approval\n").empty());
    CHECK(vigil::vigil_plugin_lines("Plugin vigil_approval_x /x.so\nPluginx vigil_approval /x.so\n").empty());
}

TEST_CASE("sudo.conf: enabling replaces vigil's line in place or appends it; disabling takes every one out") {
    std::string line = "Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so failmode=secure";
    std::string on = vigil::with_vigil_plugin(kConf, line);
    CHECK(on == "# sudo.conf\nSet group_source dynamic\n#Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so\n" +
                    line + "\nPlugin sudoers_policy sudoers.so\n");
    CHECK(vigil::with_vigil_plugin("Set a b", line) == "Set a b\n" + line + "\n");  // no final newline
    CHECK(vigil::with_vigil_plugin("", line) == line + "\n");
    std::string twice = "Plugin vigil_approval /a.so\nX\nPlugin vigil_approval /b.so\n";
    CHECK(vigil::with_vigil_plugin(twice, line) == line + "\nX\n");
    CHECK(vigil::without_vigil_plugin(twice) == "X\n");
    CHECK(vigil::without_vigil_plugin(kConf) ==
          "# sudo.conf\nSet group_source dynamic\n#Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so\n"
          "Plugin sudoers_policy sudoers.so\n");
}

TEST_CASE("sudo.conf check: loaded only when sudo would load the plugin the file names") {
    std::string dir = temp_dir();
    std::string conf = dir + "/sudo.conf", plugin = dir + "/vigil_sudo.so";
    write(plugin, "not really a plugin", 0644);

    CHECK_THAT(vigil::check_sudo_conf(conf).problem, Catch::Contains("cannot be read"));

    write(conf, "Set group_source dynamic\n", 0644);
    auto c = vigil::check_sudo_conf(conf);
    CHECK_FALSE(c.loads);
    CHECK_THAT(c.problem, Catch::Contains("has no \"Plugin vigil_approval\" line"));

    write(conf, "Plugin vigil_approval " + plugin + " timeout=3000\n", 0644);
    c = vigil::check_sudo_conf(conf);
    CHECK(c.loads);
    CHECK(c.plugin == plugin);
    CHECK(c.problem.empty());

    write(conf, "Plugin vigil_approval " + plugin + "\n", 0664);  // sudo ignores a group-writable sudo.conf
    c = vigil::check_sudo_conf(conf);
    CHECK_FALSE(c.loads);
    CHECK_THAT(c.problem, Catch::Contains("sudo ignores it"));

    write(conf, "Plugin vigil_approval " + plugin + "\n", 0644);
    write(plugin, "x", 0666);  // nor does it load a plugin others may write
    c = vigil::check_sudo_conf(conf);
    CHECK_FALSE(c.loads);
    CHECK_THAT(c.problem, Catch::Contains("may be written by others") && Catch::Contains("refuses every command"));

    REQUIRE(unlink(plugin.c_str()) == 0);  // a named plugin that is gone: sudo refuses everything
    c = vigil::check_sudo_conf(conf);
    CHECK_FALSE(c.loads);
    CHECK_THAT(c.problem, Catch::Contains("does not exist"));

    unlink(conf.c_str());
    rmdir(dir.c_str());
}
