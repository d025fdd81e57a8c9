// Who asks, for services whose PAM_USER is not the person asking.
//
// sudo sets PAM_USER to the account whose password it asks for: the
// invoking user by default, but root under `Defaults rootpw` and the target
// under `targetpw` or `runaspw` (openSUSE and SLES ship targetpw); su always
// sets it to the target. Rules, groups, the PDP subject, step-up and sessions
// must belong to the person who asked, so for these services the subject is
// the invoking user as the kernel knows it: the real uid of the process that
// asked (its pid from SO_PEERCRED; sudo and su are setuid, so their real uid
// is the invoker's), cross-checked with PAM_RUSER, which both set to the
// invoking user. The account PAM_USER named is kept as pam_user: the target
// under targetpw and for su, root under rootpw, sudo's runas_default under
// runaspw, the invoker again under sudo's defaults. It is not the command's
// run-as user in general (sudo tells PAM nothing of -u): that is for sudo's
// approval plugin to say.
//
//   if (auto s = resolve_invoker(req); !s) deny(s.error().message);
//   // req.user: "alice" (the invoker), req.pam_user: "root" (PAM_USER)
#ifndef VIGIL_POLICY_INVOKER_H
#define VIGIL_POLICY_INVOKER_H

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "request.h"
#include "result.h"

namespace vigil {

// sudo, sudo-i, su, su-l: services whose PAM_USER is the target account.
bool subject_is_invoker(const std::string& service);

// The real uid of process pid, read from <proc>/<pid>/status.
Result<uid_t> real_uid_of(pid_t pid, const std::string& proc = "/proc");

// How resolve_invoker names accounts. NSS by default; vigild passes its
// engine's cached view (Engine::account_lookups), which on its event loop
// answers only from the cache: a miss is then "not known", and a worker,
// which may wait for NSS, resolves the request again.
struct AccountLookups {
    std::function<std::optional<std::string>(uid_t)> name_of;        // getpwuid: the account's name
    std::function<std::optional<uid_t>(const std::string&)> uid_of;  // getpwnam: the name's uid
};
AccountLookups nss_accounts();

// For the account and auth phases of those services: q.pam_user takes
// PAM_USER, q.user the name of the real uid of q.peer's process. An error
// (no peer, /proc unreadable, a uid NSS cannot name, PAM_RUSER missing or
// naming another uid) means the request cannot be decided: a deny.
Status resolve_invoker(Request& q, const std::string& proc = "/proc", const AccountLookups& accounts = nss_accounts());

}  // namespace vigil

#endif
