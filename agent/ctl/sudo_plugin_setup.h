// `vigilctl sudo-plugin enable|disable|status`: vigil_sudo.so in sudo.conf,
// written so that a mistake cannot take sudo away from the whole host.
//
// enable refuses a sudo without approval plugins (sudo-rs, sudo < 1.9) and
// a plugin file sudo would refuse or that is not vigil's, writes the file
// atomically (root:root 0644), then asks `sudo -V` whether sudo loads it and
// puts the old file back when it does not. disable takes the line out the
// same way; status says what sudo would do.
#ifndef VIGIL_CTL_SUDO_PLUGIN_SETUP_H
#define VIGIL_CTL_SUDO_PLUGIN_SETUP_H

#include <string>

namespace vigil {

struct SudoPluginSetup {
    std::string verb;  // "enable", "disable", "status"
    std::string sudo_conf;
    std::string plugin;   // enable: the file sudo.conf names
    std::string options;  // enable: the plugin's options ("timeout=3000 failmode=secure")
};

// The command's exit status: 0 done (status: the plugin loads), 1 refused or
// failed (said on stderr), 3 status: it does not load.
int run_sudo_plugin_setup(const SudoPluginSetup& s);

}  // namespace vigil

#endif
