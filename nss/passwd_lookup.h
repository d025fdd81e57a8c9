// getpwnam_r, getpwuid_r and getpwent_r over the grant table: the ephemeral
// accounts of its live passwd rows. pw_passwd is "*": such an account has no
// password; it logs in with what sshd accepts otherwise (a key, a
// certificate) and only while vigild's rules allow.
//
//   nss_status s = passwd_by_name({kGrantTablePath, 0, time(nullptr)}, "tmp-alice", &pw, buf, sizeof buf, &err);
#ifndef VIGIL_NSS_PASSWD_LOOKUP_H
#define VIGIL_NSS_PASSWD_LOOKUP_H

#include <nss.h>
#include <pwd.h>

#include <cstddef>

#include "table_file.h"

namespace vigil::nss {

nss_status passwd_by_name(const TableSource& source, const char* name, passwd* out, char* buf, size_t len, int* errnop);
nss_status passwd_by_uid(const TableSource& source, uid_t uid, passwd* out, char* buf, size_t len, int* errnop);
// The index-th live account in file order (0-based), for enumeration.
nss_status passwd_at(const TableSource& source, size_t index, passwd* out, char* buf, size_t len, int* errnop);

}  // namespace vigil::nss

#endif
