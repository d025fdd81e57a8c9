// QR codes drawn with Unicode half blocks, for a phone to scan off a
// terminal: the otpauth:// URI at TOTP enrolment, the verification URL of
// the device flow. Plain text, no escape codes, so it can travel through a
// PAM conversation to sshd or sudo.
//
//   Result<std::string> qr = terminal_qr(enrollment.uri);
//   if (qr) std::printf("%s\n", qr->c_str());
//
// Two modules per character row, like `qrencode -t UTF8`: a full block is a
// light module, a space a dark one, so the code reads right on the usual
// dark-background terminal. A 2-module light quiet zone surrounds it.
#ifndef VIGIL_STEP_UP_TERMINAL_QR_H
#define VIGIL_STEP_UP_TERMINAL_QR_H

#include <string>
#include <string_view>

#include "result.h"

namespace vigil {

// Lines joined by '\n', no trailing newline. An error for text that does
// not fit a QR code (about 2900 bytes) or that holds a NUL byte.
Result<std::string> terminal_qr(std::string_view text);

}  // namespace vigil

#endif
