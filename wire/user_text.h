// Text from vigild made safe to show on a user's terminal: both modules
// print an answer's reason, which must not be able to drive the terminal.
//
//   char line[vigil::wire::kMaxUserLine];
//   vigil::wire::render_user_line(answer.reason_user, line);   // "vigil: access denied"
#ifndef VIGIL_WIRE_USER_TEXT_H
#define VIGIL_WIRE_USER_TEXT_H

#include <cstddef>
#include <cstring>
#include <string_view>

namespace vigil::wire {

inline constexpr size_t kMaxUserLine = 512;

// "vigil: " then text, control characters replaced by '?', cut to fit,
// always NUL-terminated.
inline void render_user_line(std::string_view text, char (&out)[kMaxUserLine]) {
    constexpr char kPrefix[] = "vigil: ";
    size_t n = sizeof kPrefix - 1;
    std::memcpy(out, kPrefix, n);
    for (char c : text) {
        if (n + 1 >= kMaxUserLine) break;
        unsigned char u = static_cast<unsigned char>(c);
        out[n++] = (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    out[n] = '\0';
}

// As render_user_line, for longer text shown before a prompt (a QR code,
// where to approve): keeps '\n' and bytes >= 0x80 (UTF-8), replaces other
// control characters. out holds text.size() + 1 bytes; NUL-terminated.
inline void scrub_user_block(std::string_view text, char* out) {
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char u = static_cast<unsigned char>(text[i]);
        out[i] = ((u < 0x20 && u != '\n') || u == 0x7f) ? '?' : text[i];
    }
    out[text.size()] = '\0';
}

}  // namespace vigil::wire

#endif
