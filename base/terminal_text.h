// Text that reaches a person's terminal: a reason someone typed (a step-up
// purpose, a grant's reason) shown later in an admin's `vigilctl` table.
// Printable text is valid UTF-8 with nothing a terminal acts on or that
// reorders or splits what is shown: no C0 or C1 control (ESC, CSI, newline,
// tab...), no DEL, no line or paragraph separator, no bidirectional control.
//
//   printable_text("INC-42 disk full")     // true
//   printable_text("ok\x1b[2J")            // false: ESC
//   escape_for_terminal("ok\x1b[2J\n")     // "ok\\e[2J\\n": shown, never acted on
#ifndef VIGIL_BASE_TERMINAL_TEXT_H
#define VIGIL_BASE_TERMINAL_TEXT_H

#include <string>
#include <string_view>

namespace vigil {

bool printable_text(std::string_view s);

// s with everything printable_text refuses written out as an escape: \\ for
// a backslash, \n \r \t \e, \xNN for other control bytes and bytes that are
// not UTF-8, \u{NNNN} for the other refused code points. Printable text
// without a backslash comes back unchanged.
std::string escape_for_terminal(std::string_view s);

}  // namespace vigil

#endif
