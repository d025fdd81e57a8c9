// The command a dry run asks about (`vigilctl decide --service sudo
// --command "systemctl restart nginx" --runas deploy`), made into what sudo's
// approval plugin would have sent: the program found as sudo finds it (the
// secure_path Debian's sudoers sets), run_argv as typed, the run-as user
// and uid from NSS, the working directory. Local rules and the PDP then see
// it exactly as a real command (the PDP: resource {type: "command"}).
//
//   Request q = dry_run_request("alice", "sudo", "", "");
//   if (auto s = add_dry_run_command(q, "systemctl restart nginx", "", "/"); !s) ...
#ifndef VIGIL_POLICY_DRY_RUN_COMMAND_H
#define VIGIL_POLICY_DRY_RUN_COMMAND_H

#include <string>
#include <string_view>

#include "request.h"
#include "result.h"

namespace vigil {

// Where sudo looks for a command named without a path (Debian's sudoers:
// Defaults secure_path).
inline constexpr const char* kSudoSecurePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Sets q.command and q.sudo from command (words split at spaces and tabs,
// as command rules are) and runas (empty: root), and q.service to "sudo",
// as the plugin asks (sudo -i's PAM service is sudo-i, its plugin's not). "sudoedit FILE..." edits
// those files. An error for an empty command, one not found, a relative
// sudoedit file without cwd, or a run-as user NSS does not know.
Status add_dry_run_command(Request& q, std::string_view command, const std::string& runas, const std::string& cwd);

}  // namespace vigil

#endif
