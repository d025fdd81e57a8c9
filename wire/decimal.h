// Decimal text <-> unsigned integers: the one number parser of both sides
// of the wire (frames, module options, the grant table) and of vigild's
// other strict readers (/proc, state files, certificates' ids). libc only,
// no exceptions, like the rest of wire/.
//
//   uint64_t ms;
//   if (!vigil::wire::parse_decimal(text, 600000, ms)) return bad("timeout");
//   char buf[21];
//   std::string_view s = vigil::wire::format_decimal(ms, buf);
#ifndef VIGIL_WIRE_DECIMAL_H
#define VIGIL_WIRE_DECIMAL_H

#include <cstdint>
#include <limits>
#include <string_view>

namespace vigil::wire {

enum class LeadingZeros { Allowed, Refused };

// Digits only: no sign, no space, no "0x"; 1 to 19 of them (so no overflow),
// and a value of at most max. With LeadingZeros::Refused, "0" is the only
// number that may start with 0 (the grant table's and the kernel's form).
inline bool parse_decimal(std::string_view s, uint64_t max, uint64_t& out, LeadingZeros zeros = LeadingZeros::Allowed) {
    if (s.empty() || s.size() > 19) return false;
    if (zeros == LeadingZeros::Refused && s.size() > 1 && s[0] == '0') return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > max) return false;
    out = v;
    return true;
}

// The same into any integer type, bounded by its largest value: never
// negative, even for a signed T.
template <class T>
bool parse_decimal_as(std::string_view s, T& out, LeadingZeros zeros = LeadingZeros::Allowed) {
    uint64_t v = 0;
    if (!parse_decimal(s, static_cast<uint64_t>(std::numeric_limits<T>::max()), v, zeros)) return false;
    out = static_cast<T>(v);
    return true;
}

// Writes at most 20 digits at the end of buf; returns the view of them.
inline std::string_view format_decimal(uint64_t v, char (&buf)[21]) {
    char* end = buf + sizeof buf;
    char* p = end;
    do {
        *--p = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return std::string_view(p, static_cast<size_t>(end - p));
}

}  // namespace vigil::wire

#endif
