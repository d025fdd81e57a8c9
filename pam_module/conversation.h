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

// Shows info (if any) and asks prompt in one conversation call, so sshd's
// keyboard-interactive sends them together. Copies the reply, NUL-terminated,
// into out and wipes PAM's copy. Returns false when the conversation failed
// or the reply does not fit. info may span lines (a QR code): newlines and
// UTF-8 pass, other control characters are replaced.
bool ask_user(pam_handle_t* pamh, std::string_view info, std::string_view prompt, bool echo, char* out,
              size_t out_size);

}  // namespace vigil::pam

#endif
