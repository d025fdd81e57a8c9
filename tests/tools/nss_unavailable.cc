// libnss_vgldown.so.2: an NSS group source that is down. Asked for gid
// 64556 it fails with EIO (NSS_STATUS_UNAVAIL), as an LDAP or SSSD source
// does when its server cannot be reached; any other gid it does not know.
// e2e-grants puts it after "files" to show that vigild denies a user whose
// group NSS could not name, rather than deciding without that group.
#include <errno.h>
#include <grp.h>
#include <nss.h>

#include <cstddef>

namespace {
constexpr gid_t kUnavailableGid = 64556;
}

extern "C" __attribute__((visibility("default"))) enum nss_status _nss_vgldown_getgrgid_r(gid_t gid, group*, char*,
                                                                                          size_t, int* errnop) {
    if (gid != kUnavailableGid) return NSS_STATUS_NOTFOUND;
    *errnop = EIO;
    return NSS_STATUS_UNAVAIL;
}
