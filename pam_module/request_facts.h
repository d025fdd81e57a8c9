// What the module knows about the request it is asked to decide, gathered
// from PAM items, the PAM environment and /proc. The agent trusts none of it
// beyond "a root process says so" and adds what it can check itself.
#ifndef VIGIL_PAM_MODULE_REQUEST_FACTS_H
#define VIGIL_PAM_MODULE_REQUEST_FACTS_H

#include <security/pam_modules.h>

#include <cstddef>
#include <string_view>

#include "protocol.h"

namespace vigil::pam {

struct RequestFacts {
    std::string_view user, service, rhost, tty, ruser;
    std::string_view ssh_auth_info;   // SSH_AUTH_INFO_0 (sshd with ExposeAuthInfo yes)
    std::string_view xdg_session_id;  // set once pam_systemd ran
    std::string_view command;         // sudo's argv, NUL-separated
    bool command_truncated = false;   // argv did not fit in command_buf
    char command_buf[16384];          // backing store for command
};

// Fills facts from pamh. Returns false when there is no user to decide for.
[[nodiscard]] bool gather_facts(pam_handle_t* pamh, RequestFacts& facts);

// Appends the facts as fields of a request frame.
void put_facts(const RequestFacts& facts, wire::Writer& w);

}  // namespace vigil::pam

#endif
