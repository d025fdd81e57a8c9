// The admin's regular expressions (step_up.purpose.pattern,
// subject.workload_key_id) checked before std::regex ever compiles them.
//
// libstdc++'s regex compiler reads a repeat count or a back-reference
// number into an int without an overflow check (undefined behaviour; a
// fuzzer found `a{3333333333333333333}`), and it recurses once per
// alternative. So a pattern is refused when it is longer than
// kMaxRegexSetting bytes, a `{n}` / `{n,m}` bound exceeds kMaxRepeat, or a
// `\N` names a group past kMaxBackReference. Past those bounds the library's
// own state limit (regex_error) still applies.
//
//   if (auto why = regex_setting_problem("^(INC|CHG)-[0-9]+ .{8,}$")) fail(*why);
#ifndef VIGIL_CONFIG_REGEX_SETTING_H
#define VIGIL_CONFIG_REGEX_SETTING_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr size_t kMaxRegexSetting = 512;
inline constexpr unsigned kMaxRepeat = 1000;
inline constexpr unsigned kMaxBackReference = 99;

// Why pattern is no usable ECMAScript regular expression, or nullopt when
// it is one within the bounds above.
std::optional<std::string> regex_setting_problem(std::string_view pattern);

}  // namespace vigil

#endif  // VIGIL_CONFIG_REGEX_SETTING_H
