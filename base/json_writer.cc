#include "json_writer.h"

#include <cstdint>

namespace vigil {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The bytes a well-formed UTF-8 sequence starting with lead may continue
// with (Unicode 15, table 3-7): the second byte's range, and how many
// continuation bytes follow the lead in all. count 0: not a lead byte.
struct Lead {
    int count;
    uint8_t lo, hi;
};

Lead lead_of(uint8_t b) {
    if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
    if (b == 0xE0) return {2, 0xA0, 0xBF};
    if (b == 0xED) return {2, 0x80, 0x9F};  // no surrogates
    if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
    if (b == 0xF0) return {3, 0x90, 0xBF};
    if (b == 0xF4) return {3, 0x80, 0x8F};  // nothing past U+10FFFF
    if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
    return {0, 0, 0};
}

// The length of the well-formed sequence at s[i] (lead not ASCII), or, as
// a negative number, how many bytes to replace with one U+FFFD: the lead
// and the continuation bytes that fitted before one did not (the
// "maximal subpart"; the byte that did not fit is read again).
int sequence_at(std::string_view s, size_t i) {
    Lead l = lead_of(static_cast<uint8_t>(s[i]));
    if (l.count == 0) return -1;
    for (int k = 1; k <= l.count; ++k) {
        if (i + k >= s.size()) return -k;
        auto b = static_cast<uint8_t>(s[i + k]);
        uint8_t lo = k == 1 ? l.lo : 0x80, hi = k == 1 ? l.hi : 0xBF;
        if (b < lo || b > hi) return -k;
    }
    return l.count + 1;
}

void append_escaped_ascii(std::string& out, char c) {
    switch (c) {
        case '"': out += "\\\""; return;
        case '\\': out += "\\\\"; return;
        case '\b': out += "\\b"; return;
        case '\f': out += "\\f"; return;
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        default: break;
    }
    if (static_cast<uint8_t>(c) < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out += kHex[(c >> 4) & 0xF];
        out += kHex[c & 0xF];
        return;
    }
    out += c;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    size_t i = 0;
    while (i < s.size()) {
        // Runs of plain bytes are copied whole.
        size_t run = i;
        while (run < s.size()) {
            auto b = static_cast<uint8_t>(s[run]);
            if (b < 0x20 || b == '"' || b == '\\' || b >= 0x80) break;
            ++run;
        }
        out.append(s.data() + i, run - i);
        i = run;
        if (i == s.size()) break;
        auto b = static_cast<uint8_t>(s[i]);
        if (b < 0x80) {
            append_escaped_ascii(out, s[i]);
            ++i;
            continue;
        }
        int n = sequence_at(s, i);
        if (n > 0) {
            out.append(s.data() + i, static_cast<size_t>(n));
            i += static_cast<size_t>(n);
        } else {
            out += kReplacement;
            i += static_cast<size_t>(-n);
        }
    }
    out += '"';
}

void JsonWriter::separate() {
    if (comma_) out_ += ',';
    comma_ = true;
}

JsonWriter& JsonWriter::open(char c) {
    separate();
    out_ += c;
    comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::close(char c) {
    out_ += c;
    comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    separate();
    append_json_string(out_, k);
    out_ += ':';
    comma_ = false;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
}

}  // namespace vigil
