#include "purpose_check.h"

#include "terminal_text.h"

namespace vigil {

PurposeVerdict check_purpose(std::string_view text, const std::regex& pattern) {
    if (text.size() > kMaxPurpose) return PurposeVerdict::TooLong;
    if (!printable_text(text)) return PurposeVerdict::NotPrintable;
    if (!std::regex_match(text.begin(), text.end(), pattern)) return PurposeVerdict::NoMatch;
    return PurposeVerdict::Ok;
}

const char* to_string(PurposeVerdict v) {
    switch (v) {
        case PurposeVerdict::Ok: return "ok";
        case PurposeVerdict::TooLong: return "too long";
        case PurposeVerdict::NotPrintable: return "not printable";
        case PurposeVerdict::NoMatch: return "does not match the pattern";
    }
    return "?";
}

}  // namespace vigil
