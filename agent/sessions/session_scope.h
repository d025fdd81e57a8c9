// Where a session's processes live in the cgroup tree, and a place they
// cannot leave (issue 18, item 4).
//
// A process can leave its parent (fork twice), its session (setsid) and its
// process group; it cannot leave its cgroup, which only root moves it out
// of. logind puts every login it knows into a scope (session-N.scope); on a
// host where it does not (no pam_systemd, logind down), vigild does what
// pam_systemd would: it asks PID 1 to start a transient scope with the
// session's process in it, before sshd forks the shell, so everything the
// session ever starts is in that scope. Ending the session then kills the
// scope, whatever the processes did to their tree.
//
//   if (auto where = place_session(pid, uid, session_id)) s.scope = where->cgroup;
//   ...
//   kill_unit(unit_of_cgroup(s.scope), SIGKILL);
//   cgroup_population(s.scope);   // 0: nothing of the session is left
//
// Without systemd as PID 1 of our PID namespace there is no scope: the
// terminator follows the process tree alone, as before.
#ifndef VIGIL_SESSIONS_SESSION_SCOPE_H
#define VIGIL_SESSIONS_SESSION_SCOPE_H

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil {

// The process's cgroup in the unified hierarchy ("0::" line of
// /proc/<pid>/cgroup), e.g. "/user.slice/user-1000.slice/session-4.scope".
// Empty when the process is gone or has no unified cgroup.
std::optional<std::string> cgroup_of(pid_t pid, const std::string& proc_root = "/proc");

// The unit a cgroup path is the cgroup of: its last component when that is
// a scope or a service ("session-4.scope"); empty otherwise.
std::string unit_of_cgroup(std::string_view cgroup);

// "session-<id>.scope", the scope logind makes for a login.
bool is_logind_scope(std::string_view unit);

// Is a systemd manager PID 1 of this PID namespace, so the pids vigild sees
// are the ones it would put in a scope?
bool systemd_manages_pids();

// The processes in cgroup and its children, counted from cgroup.procs
// under the unified hierarchy's mount (/sys/fs/cgroup, or
// /sys/fs/cgroup/unified on a hybrid host). Empty when the cgroup is gone.
std::optional<size_t> cgroup_population(std::string_view cgroup);

// Asks PID 1 to send sig to every process of unit (KillUnit, "all").
Status kill_unit(const std::string& unit, int sig, std::chrono::milliseconds timeout);

// Asks PID 1 to freeze unit (cgroup v2 freezer), so nothing in it forks
// while it is killed. Fails where the unit or the hierarchy cannot freeze.
Status freeze_unit(const std::string& unit, std::chrono::milliseconds timeout);

// How the terminator reaches a session's scope: PID 1 (systemd_scopes), or
// a stand-in in tests.
struct ScopeControl {
    std::function<Status(const std::string& unit, int sig)> kill;
    std::function<Status(const std::string& unit)> freeze;
    std::function<std::optional<size_t>(const std::string& cgroup)> population;
};
ScopeControl systemd_scopes(std::chrono::milliseconds timeout);

struct SessionPlace {
    std::string cgroup;    // where the session's process is now
    bool created = false;  // vigild started the scope (no logind scope held it)
};

// Where session pid will live: the logind scope it is in already, or a new
// transient scope "vigil-session-<id>.scope" in user-<uid>.slice with pid
// moved into it (SendSIGHUP, collected when it empties). An error when
// systemd does not manage our pids or refused; the caller then ends the
// session through its process tree.
Result<SessionPlace> place_session(pid_t pid, uid_t uid, std::string_view session_id,
                                   std::chrono::milliseconds timeout);

}  // namespace vigil

#endif
