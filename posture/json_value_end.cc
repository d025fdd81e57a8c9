#include "json_value_end.h"

namespace vigil::posture {
namespace {

// Whitespace, and the bytes of a UTF-8 byte order mark (EF BB BF), which
// some Windows-born agents put first and the parser skips.
bool is_lead_in(char c) {
    auto u = static_cast<unsigned char>(c);
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || u == 0xef || u == 0xbb || u == 0xbf;
}

}  // namespace

std::optional<size_t> JsonValueEnd::feed(std::string_view more) {
    for (char c : more) {
        if (mode_ == Mode::Done) break;
        ++seen_;
        step(c);
    }
    if (mode_ == Mode::Done) return seen_;
    return std::nullopt;
}

void JsonValueEnd::step(char c) {
    switch (mode_) {
        case Mode::Before:
            if (c == '{' || c == '[') {
                mode_ = Mode::Container;
                depth_ = 1;
            } else if (!is_lead_in(c)) {
                mode_ = Mode::Scalar;
            }
            return;
        case Mode::Scalar:
            if (c == '\n') mode_ = Mode::Done;
            return;
        case Mode::Container:
            // Brackets inside strings do not count; nor does an escaped quote.
            if (in_string_) {
                if (escaped_) {
                    escaped_ = false;
                } else if (c == '\\') {
                    escaped_ = true;
                } else if (c == '"') {
                    in_string_ = false;
                }
            } else if (c == '"') {
                in_string_ = true;
            } else if (c == '{' || c == '[') {
                ++depth_;
            } else if ((c == '}' || c == ']') && --depth_ == 0) {
                mode_ = Mode::Done;
            }
            return;
        case Mode::Done: return;
    }
}

}  // namespace vigil::posture
