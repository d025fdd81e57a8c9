#include "terminal_text.h"

#include <fmt/format.h>

namespace vigil {
namespace {

// One UTF-8 sequence at s[i]: its length, with its code point in cp; 0 when
// the bytes there are not UTF-8 (overlong forms and surrogates included).
size_t decode_utf8(std::string_view s, size_t i, char32_t& cp) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = byte(i);
    if (b < 0x80) return cp = b, 1;
    size_t n = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    cp = b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
    return n;
}

bool shown_as_is(char32_t c) {
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return false;  // C0, DEL, C1
    if (c == 0x2028 || c == 0x2029) return false;            // line and paragraph separators
    // Bidirectional controls: they reorder the rest of the line on screen.
    if (c == 0x061C || c == 0x200E || c == 0x200F) return false;
    if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) return false;
    return true;
}

std::string escape_control(char32_t c) {
    switch (c) {
        case '\n': return "\\n";
        case '\r': return "\\r";
        case '\t': return "\\t";
        case 0x1B: return "\\e";
        default: break;
    }
    if (c < 0x80) return fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    return fmt::format("\\u{{{:04x}}}", static_cast<unsigned>(c));
}

}  // namespace

bool printable_text(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        char32_t c = 0;
        size_t n = decode_utf8(s, i, c);
        if (n == 0 || !shown_as_is(c)) return false;
        i += n;
    }
    return true;
}

std::string escape_for_terminal(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        char32_t c = 0;
        size_t n = decode_utf8(s, i, c);
        if (n == 0) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
            ++i;
            continue;
        }
        if (c == '\\') {
            out += "\\\\";
        } else if (shown_as_is(c)) {
            out.append(s.substr(i, n));
        } else {
            out += escape_control(c);
        }
        i += n;
    }
    return out;
}

}  // namespace vigil
