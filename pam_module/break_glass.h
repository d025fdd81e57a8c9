// Break-glass: the way in when the gate itself is broken. With
// breakglass=GROUP on a pam_vigil.so line (failmode=secure), the members of
// GROUP get past this module when vigild cannot be reached or does not
// answer in time, and only then: an answer, deny included, is always
// enforced, and so is a request vigil refused.
//
//   account required pam_vigil.so failmode=secure breakglass=vigil-breakglass
//
// Membership is read from /etc/group and /etc/passwd themselves, not through
// NSS: a directory service or a vigil grant may be what is down, and a
// grant must never open the break-glass door. Whose membership counts is
// the kernel's word where it has one: the real uid of a sudo or su caller,
// PAM_USER only where the caller is root (sshd, which authenticated it).
//
// Each use is recorded twice by the module, since vigild may be down for
// good: a syslog line (LOG_ALERT) and a frame in the spool directory
// (breakglass_dir=, default kDefaultBreakGlassDir), which vigild moves into
// its trail when it runs again.
#ifndef VIGIL_PAM_MODULE_BREAK_GLASS_H
#define VIGIL_PAM_MODULE_BREAK_GLASS_H

#include <security/pam_modules.h>

#include <cstddef>

#include "request_facts.h"

namespace vigil::pam {

inline constexpr const char* kDefaultBreakGlassDir = "/var/lib/vigil/breakglass";

// The user whose membership counts (see above), into buf; false if none.
[[nodiscard]] bool break_glass_user(const RequestFacts& facts, char* buf, size_t cap);

// user is a member of group by /etc/group (listed, or it is their primary
// group by /etc/passwd). Any error reading either file is "no".
[[nodiscard]] bool in_local_group(const char* user, const char* group);

// Writes the use into dir as one frame (Kind::BreakGlass) in a file of its
// own. dir must be a directory owned by root that no one else may write or
// read; else, or when the write fails, returns false with why in err.
[[nodiscard]] bool spool_break_glass(const char* dir, const RequestFacts& facts, const char* user, const char* phase,
                                     const char* group, const char* why, char* err, size_t errlen);

}  // namespace vigil::pam

#endif
