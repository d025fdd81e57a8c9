// getgrnam_r, getgrgid_r and getgrent_r over the grant table.
//
// A group is served while its group row is live, whether or not anyone holds
// it: like a line in /etc/group, a declared group and its gid stay stable,
// and "%vigil-sudo" in sudoers always resolves. Its members (gr_mem) are the
// users of its live member rows, in file order; often none.
//
//   nss_status s = group_by_name({kGrantTablePath, 0, time(nullptr)}, "vigil-sudo", &gr, buf, sizeof buf, &err);
#ifndef VIGIL_NSS_GROUP_LOOKUP_H
#define VIGIL_NSS_GROUP_LOOKUP_H

#include <grp.h>
#include <nss.h>

#include <cstddef>

#include "table_file.h"

namespace vigil::nss {

nss_status group_by_name(const TableSource& source, const char* name, group* out, char* buf, size_t len, int* errnop);
nss_status group_by_gid(const TableSource& source, gid_t gid, group* out, char* buf, size_t len, int* errnop);
// The index-th live group in file order (0-based), for enumeration.
nss_status group_at(const TableSource& source, size_t index, group* out, char* buf, size_t len, int* errnop);

}  // namespace vigil::nss

#endif
