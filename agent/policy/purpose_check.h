// What vigil accepts as a justification a person gives for access: the
// answer to the [step_up.purpose] prompt, and a grant request's reason. One
// check for both, so a reason the trail and `vigilctl grant list` show has
// passed the same rules wherever it was typed.
//
//   std::regex pattern(config.step_up.purpose.pattern, std::regex::ECMAScript);
//   PurposeVerdict v = check_purpose("INC-42 disk full", pattern);   // Ok
//   check_purpose("x\x1b[2J", pattern);                              // NotPrintable
#ifndef VIGIL_POLICY_PURPOSE_CHECK_H
#define VIGIL_POLICY_PURPOSE_CHECK_H

#include <cstddef>
#include <regex>
#include <string_view>

namespace vigil {

// The longest reason accepted, in bytes. Checked before the pattern, so the
// regex never runs over a long input.
inline constexpr size_t kMaxPurpose = 256;

enum class PurposeVerdict { Ok, TooLong, NotPrintable, NoMatch };

// Ok when text is at most kMaxPurpose bytes, printable (terminal_text.h)
// and matches pattern as a whole.
PurposeVerdict check_purpose(std::string_view text, const std::regex& pattern);

// "too long", "not printable", "does not match the pattern"; "ok".
const char* to_string(PurposeVerdict v);

}  // namespace vigil

#endif
