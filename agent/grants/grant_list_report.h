// `vigilctl grant list`: the AdminGrants answer as the table an admin reads.
// Every field is shown through escape_for_terminal (terminal_text.h): a
// reason is checked when it is asked for, but the table may hold one from
// before that check, and nothing a requester typed may reach the admin's
// terminal as a control sequence or a line of its own.
//
//   std::fputs(render_grant_list(answer).c_str(), stdout);
#ifndef VIGIL_GRANTS_GRANT_LIST_REPORT_H
#define VIGIL_GRANTS_GRANT_LIST_REPORT_H

#include <nlohmann/json.hpp>
#include <string>

namespace vigil {

// answer: {"grants": [{"id", "group", "account", "user", "expires_at",
// "session", "reason"}, ...]}; "no live grants" when the list is empty.
std::string render_grant_list(const nlohmann::json& answer);

}  // namespace vigil

#endif
