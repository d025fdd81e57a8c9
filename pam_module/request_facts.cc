#include "request_facts.h"

#include <fcntl.h>
#include <security/pam_ext.h>
#include <unistd.h>

#include "fd_io.h"
#include "unique_fd.h"

namespace vigil::pam {
namespace {

std::string_view item(pam_handle_t* pamh, int type) {
    const void* v = nullptr;
    if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == nullptr) return {};
    return static_cast<const char*>(v);
}

std::string_view env(pam_handle_t* pamh, const char* name) {
    const char* v = pam_getenv(pamh, name);
    return v ? std::string_view(v) : std::string_view();
}

bool is_sudo(std::string_view service) { return service == "sudo" || service == "sudo-i"; }

// sudo's own argv, e.g. "sudo\0-u\0postgres\0psql\0". Cut at the buffer's
// size, and then said so: a command seen in part must not pass for whole.
std::string_view read_cmdline(char* buf, size_t cap, bool& truncated) {
    truncated = false;
    UniqueFd fd(open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    ssize_t n = wire::read_full(fd.get(), buf, cap);
    size_t len = n > 0 ? static_cast<size_t>(n) : 0;
    char more;
    truncated = len == cap && wire::read_full(fd.get(), &more, 1) == 1;
    while (len > 0 && buf[len - 1] == '\0') --len;
    return std::string_view(buf, len);
}

}  // namespace

bool gather_facts(pam_handle_t* pamh, RequestFacts& facts) {
    facts.user = item(pamh, PAM_USER);
    facts.service = item(pamh, PAM_SERVICE);
    facts.rhost = item(pamh, PAM_RHOST);
    facts.tty = item(pamh, PAM_TTY);
    facts.ruser = item(pamh, PAM_RUSER);
    facts.ssh_auth_info = env(pamh, "SSH_AUTH_INFO_0");
    facts.xdg_session_id = env(pamh, "XDG_SESSION_ID");
    facts.command = {};
    facts.command_truncated = false;
    if (is_sudo(facts.service)) {
        facts.command = read_cmdline(facts.command_buf, sizeof facts.command_buf, facts.command_truncated);
    }
    return !facts.user.empty();
}

void put_facts(const RequestFacts& facts, wire::Writer& w) {
    w.put(wire::Tag::User, facts.user);
    w.put(wire::Tag::Service, facts.service);
    if (!facts.rhost.empty()) w.put(wire::Tag::Rhost, facts.rhost);
    if (!facts.tty.empty()) w.put(wire::Tag::Tty, facts.tty);
    if (!facts.ruser.empty()) w.put(wire::Tag::Ruser, facts.ruser);
    if (!facts.ssh_auth_info.empty()) w.put(wire::Tag::SshAuthInfo, facts.ssh_auth_info);
    if (!facts.xdg_session_id.empty()) w.put(wire::Tag::XdgSessionId, facts.xdg_session_id);
    if (!facts.command.empty()) w.put(wire::Tag::Command, facts.command);
    if (facts.command_truncated) w.put(wire::Tag::ArgvTruncated, "1");
    w.put_u64(wire::Tag::Pid, static_cast<uint64_t>(getpid()));
    w.put_u64(wire::Tag::Ppid, static_cast<uint64_t>(getppid()));
}

}  // namespace vigil::pam
