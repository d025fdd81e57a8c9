// Messages to the person at the other end of sshd or sudo.
#ifndef VIGIL_PAM_MODULE_CONVERSATION_H
#define VIGIL_PAM_MODULE_CONVERSATION_H

#include <security/pam_modules.h>

#include <string_view>

namespace vigil::pam {

// Shows "vigil: <text>" as an error message. Sent even under PAM_SILENT:
// sudo passes PAM_SILENT to the account phase yet prints error messages, and
// without this the user sees only "account validation failure". Control
// characters are replaced so an answer cannot drive the user's terminal.
void tell_user(pam_handle_t* pamh, std::string_view text);

}  // namespace vigil::pam

#endif
