#include "sudo_plugin_setup.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sudo_plugin.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "atomic_file.h"
#include "run_command.h"
#include "sudo_conf.h"

namespace vigil {
namespace {

constexpr const char* kSudo = "/usr/bin/sudo";
constexpr const char* kLoadedMark = "vigil approval plugin version";

int refuse(const std::string& why) {
    std::fprintf(stderr, "vigilctl sudo-plugin: %s\n", why.c_str());
    return 1;
}

// `sudo -V` as root: its version, and each plugin it loaded.
Result<std::string> sudo_version_text() {
    auto r = posture::run_command({kSudo, "-V"}, std::chrono::seconds(10), 1 << 16);
    if (!r) return err(fmt::format("cannot run {} -V: {}", kSudo, r.error().message));
    return r->out + r->err;
}

// "" when this sudo has approval plugins (sudo 1.9 and later, not sudo-rs).
std::string sudo_problem(const std::string& version_text) {
    if (version_text.find("sudo-rs") != std::string::npos)
        return "this sudo is sudo-rs, which has no plugin interface: keep [sudo] approval = \"pam\"";
    unsigned major = 0, minor = 0;
    if (std::sscanf(version_text.c_str(), "Sudo version %u.%u", &major, &minor) != 2)
        return fmt::format("cannot tell which sudo this is ({} -V said: {})", kSudo,
                           version_text.substr(0, version_text.find('\n')));
    if (major < 1 || (major == 1 && minor < 9))
        return fmt::format("sudo {}.{} has no approval plugins (sudo 1.9 and later do)", major, minor);
    return "";
}

// "" when path is a plugin sudo would load and it is vigil's approval
// plugin; loading it runs no code of its own (the plugin has no
// constructors; libc only).
std::string plugin_problem(const std::string& path) {
    if (std::string why = sudo_plugin_file_problem(path); !why.empty()) return why;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return fmt::format("{} cannot be loaded: {}", path, dlerror());
    auto* plugin = static_cast<const approval_plugin*>(dlsym(handle, kSudoPluginSymbol));
    std::string why;
    if (!plugin)
        why = fmt::format("{} has no {} symbol: it is not vigil's sudo plugin", path, kSudoPluginSymbol);
    else if (plugin->type != SUDO_APPROVAL_PLUGIN)
        why = fmt::format("{}'s {} is not an approval plugin", path, kSudoPluginSymbol);
    dlclose(handle);
    return why;
}

Result<std::string> read_text(const std::string& path, bool* existed) {
    std::ifstream in(path);
    *existed = static_cast<bool>(in);
    if (!in) return std::string();
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return err(fmt::format("cannot read {}", path));
    return text.str();
}

// Writes next over the file; for the host's own sudo.conf, keeps it only if
// `sudo -V` then says what want_loaded wants, else puts old back.
int replace(const SudoPluginSetup& s, const std::string& old, bool existed, const std::string& next, bool want_loaded) {
    if (next == old) {
        std::printf("%s: no change\n", s.sudo_conf.c_str());
        return 0;
    }
    if (auto w = write_file_atomically(s.sudo_conf, next, 0644); !w) return refuse(w.error().message);
    if (s.sudo_conf != kSudoConf) {
        std::printf("%s written; sudo reads only %s, so sudo -V was not asked\n", s.sudo_conf.c_str(), kSudoConf);
        return 0;
    }
    auto v = sudo_version_text();
    bool loaded = v && v->find(kLoadedMark) != std::string::npos;
    if (v && loaded == want_loaded) {
        std::printf("%s written; sudo -V: the plugin is %s\n", s.sudo_conf.c_str(), loaded ? "loaded" : "not loaded");
        return 0;
    }
    Status back = existed ? write_file_atomically(s.sudo_conf, old, 0644) : Status(Ok{});
    if (!existed && unlink(s.sudo_conf.c_str()) != 0) back = err(fmt::format("cannot remove {}", s.sudo_conf));
    std::string said = v ? v->substr(0, 400) : v.error().message;
    return refuse(fmt::format(
        "after writing {}, sudo -V did not show the plugin {}; {} ({})", s.sudo_conf, want_loaded ? "loaded" : "gone",
        back ? "the old file is back" : "PUTTING THE OLD FILE BACK FAILED: " + back.error().message, said));
}

int enable(const SudoPluginSetup& s, const std::string& old, bool existed) {
    auto v = sudo_version_text();
    if (!v) return refuse(v.error().message);
    if (std::string why = sudo_problem(*v); !why.empty()) return refuse(why);
    if (std::string why = plugin_problem(s.plugin); !why.empty()) return refuse(why);
    std::string line =
        fmt::format("Plugin {} {}{}{}", kSudoPluginSymbol, s.plugin, s.options.empty() ? "" : " ", s.options);
    return replace(s, old, existed, with_vigil_plugin(old, line), true);
}

int status(const SudoPluginSetup& s) {
    SudoConfCheck c = check_sudo_conf(s.sudo_conf);
    if (c.loads) {
        std::printf("%s loads %s\n", s.sudo_conf.c_str(), c.plugin.c_str());
        return 0;
    }
    std::printf("not loaded: %s\n", c.problem.c_str());
    return 3;
}

}  // namespace

int run_sudo_plugin_setup(const SudoPluginSetup& s) {
    if (s.verb == "status") return status(s);
    if (s.verb != "enable" && s.verb != "disable")
        return std::fprintf(stderr, "vigilctl sudo-plugin: want enable, disable or status\n"), 2;
    if (geteuid() != 0) return refuse("must run as root: sudo.conf is root's");
    bool existed = false;
    auto old = read_text(s.sudo_conf, &existed);
    if (!old) return refuse(old.error().message);
    if (s.verb == "enable") return enable(s, *old, existed);
    if (!existed) return std::printf("%s does not exist: nothing to do\n", s.sudo_conf.c_str()), 0;
    return replace(s, *old, existed, without_vigil_plugin(*old), false);
}

}  // namespace vigil
