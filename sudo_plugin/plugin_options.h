// The words after the path on vigil_sudo.so's line in /etc/sudo.conf:
//
//   Plugin vigil_approval vigil_sudo.so socket=/run/vigil/pam.sock timeout=3000 failmode=secure
#ifndef VIGIL_SUDO_PLUGIN_PLUGIN_OPTIONS_H
#define VIGIL_SUDO_PLUGIN_PLUGIN_OPTIONS_H

#include "protocol.h"

namespace vigil::sudo {

// secure: a command is denied when vigild cannot be asked or does not
// answer in time; safe: it runs (a request vigild refuses is a deny in both).
enum class FailMode { Secure, Safe };

struct PluginOptions {
    const char* socket_path = wire::kDefaultPamSocket;  // points into sudo's options, never freed
    int timeout_ms = wire::kDefaultClientTimeoutMs;
    FailMode failmode = FailMode::Secure;
};

// Reads words into out; returns nullptr, or what was wrong with one (that
// word is ignored and its default kept). options may be nullptr.
const char* parse_plugin_options(char* const options[], PluginOptions& out);

}  // namespace vigil::sudo

#endif
