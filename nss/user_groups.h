// initgroups_dyn over the grant table: what makes `id alice`, su, sshd and
// sudo give a user the groups granted to her. glibc asks every source in
// nsswitch.conf and merges the answers into one array it owns.
//
//   long start = 1, size = 8; gid_t* gids = malloc(size * sizeof(gid_t)); gids[0] = primary;
//   add_user_groups(source, "alice", primary, &start, &size, &gids, 0, &err);
#ifndef VIGIL_NSS_USER_GROUPS_H
#define VIGIL_NSS_USER_GROUPS_H

#include <nss.h>
#include <sys/types.h>

#include "table_file.h"

namespace vigil::nss {

// Appends to (*groups)[*start...] the gid of every live group in which user
// has a live membership, except skip (the primary group) and gids already
// there; grows the array with realloc() up to limit entries (limit <= 0: no
// limit), as glibc expects. NSS_STATUS_SUCCESS when user has such a
// membership, NSS_STATUS_NOTFOUND otherwise.
nss_status add_user_groups(const TableSource& source, const char* user, gid_t skip, long* start, long* size,
                           gid_t** groups, long limit, int* errnop);

}  // namespace vigil::nss

#endif
