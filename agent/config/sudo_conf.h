// What /etc/sudo.conf says about vigil_sudo.so, and the edits `vigilctl
// sudo-plugin` makes to it. sudo loads every plugin its sudo.conf names or
// none: a line naming a file that is gone makes sudo refuse every command,
// and a sudo.conf that is not root's (or that others may write) is ignored,
// plugin and all. So the line is checked before it is written, and what
// vigild reports as health is what sudo itself would do.
//
//   std::vector<SudoConfPlugin> found = vigil_plugin_lines(text);
//   std::string next = with_vigil_plugin(text, "Plugin vigil_approval /usr/libexec/vigil/vigil_sudo.so");
//   SudoConfCheck c = check_sudo_conf("/etc/sudo.conf");   // c.loads, c.problem
#ifndef VIGIL_CONFIG_SUDO_CONF_H
#define VIGIL_CONFIG_SUDO_CONF_H

#include <string>
#include <string_view>
#include <vector>

namespace vigil {

inline constexpr const char* kSudoConf = "/etc/sudo.conf";
inline constexpr const char* kSudoPluginSymbol = "vigil_approval";
inline constexpr const char* kSudoPluginPath = "/usr/libexec/vigil/vigil_sudo.so";
// Where sudo looks for a plugin named without a path (sudo.conf(5), plugin_dir).
inline constexpr const char* kSudoPluginDir = "/usr/libexec/sudo/";

// One "Plugin vigil_approval PATH [OPTIONS]" line.
struct SudoConfPlugin {
    size_t line = 0;   // 1-based
    std::string path;  // as sudo will open it: absolute, or under kSudoPluginDir
    std::string text;  // the line as written
};

// The lines that load vigil's plugin (by its symbol), in file order.
std::vector<SudoConfPlugin> vigil_plugin_lines(std::string_view conf);

// conf with `line` in place of the first line loading vigil's plugin (the
// others dropped), or appended when there is none.
std::string with_vigil_plugin(std::string_view conf, std::string_view line);

// conf without any line loading vigil's plugin.
std::string without_vigil_plugin(std::string_view conf);

struct SudoConfCheck {
    bool loads = false;   // sudo, reading this file, loads vigil_sudo.so
    std::string plugin;   // the file it loads ("" when none is named)
    std::string problem;  // why it does not, or "" when it does
};

// Reads path as sudo would: root's and not writable by others, a line
// naming the plugin, the plugin a regular file that root owns and only root
// may write.
SudoConfCheck check_sudo_conf(const std::string& path = kSudoConf);

// "" when sudo would load a plugin from path; else why not.
std::string sudo_plugin_file_problem(const std::string& path);

}  // namespace vigil

#endif
