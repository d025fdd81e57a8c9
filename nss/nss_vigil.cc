// libnss_vigil.so.2: the entry points glibc looks up by name when
// nsswitch.conf says "group: files vigil" or "passwd: files vigil". Each
// forwards to a lookup over the table vigild writes (see grant_format.h);
// the module never talks to vigild or the network, and works the same
// whether vigild runs or not.
#include <grp.h>
#include <nss.h>
#include <pwd.h>

#include <ctime>

#include "enum_cursor.h"
#include "grant_format.h"
#include "group_lookup.h"
#include "passwd_lookup.h"
#include "user_groups.h"

namespace {

using vigil::nss::EnumCursor;
using vigil::nss::TableSource;

constinit EnumCursor group_cursor;
constinit EnumCursor passwd_cursor;

// The table's expiries are in whole epoch seconds, as date(1) and vigild read
// them. time(2) here is the kernel's tick-granular clock and can lag
// CLOCK_REALTIME by a tick across a second boundary, serving a grant a few
// milliseconds past its end; clock_gettime does not.
int64_t now_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec);
}

// Root-owned only, read now: expiry is checked at every lookup.
TableSource system_table() { return {vigil::nss::kGrantTablePath, 0, now_seconds()}; }

}  // namespace

// Built with -fvisibility=hidden; the version script is the second fence.
#define VIGIL_EXPORT __attribute__((visibility("default")))

extern "C" {

VIGIL_EXPORT nss_status _nss_vigil_getgrnam_r(const char* name, group* out, char* buf, size_t len, int* errnop) {
    return vigil::nss::group_by_name(system_table(), name, out, buf, len, errnop);
}

VIGIL_EXPORT nss_status _nss_vigil_getgrgid_r(gid_t gid, group* out, char* buf, size_t len, int* errnop) {
    return vigil::nss::group_by_gid(system_table(), gid, out, buf, len, errnop);
}

VIGIL_EXPORT nss_status _nss_vigil_setgrent(int /*stayopen*/) {
    group_cursor.rewind();
    return NSS_STATUS_SUCCESS;
}

VIGIL_EXPORT nss_status _nss_vigil_getgrent_r(group* out, char* buf, size_t len, int* errnop) {
    return group_cursor.next([&](size_t i) { return vigil::nss::group_at(system_table(), i, out, buf, len, errnop); });
}

VIGIL_EXPORT nss_status _nss_vigil_endgrent() {
    group_cursor.rewind();
    return NSS_STATUS_SUCCESS;
}

VIGIL_EXPORT nss_status _nss_vigil_initgroups_dyn(const char* user, gid_t skip, long* start, long* size, gid_t** groups,
                                                  long limit, int* errnop) {
    return vigil::nss::add_user_groups(system_table(), user, skip, start, size, groups, limit, errnop);
}

VIGIL_EXPORT nss_status _nss_vigil_getpwnam_r(const char* name, passwd* out, char* buf, size_t len, int* errnop) {
    return vigil::nss::passwd_by_name(system_table(), name, out, buf, len, errnop);
}

VIGIL_EXPORT nss_status _nss_vigil_getpwuid_r(uid_t uid, passwd* out, char* buf, size_t len, int* errnop) {
    return vigil::nss::passwd_by_uid(system_table(), uid, out, buf, len, errnop);
}

VIGIL_EXPORT nss_status _nss_vigil_setpwent(int /*stayopen*/) {
    passwd_cursor.rewind();
    return NSS_STATUS_SUCCESS;
}

VIGIL_EXPORT nss_status _nss_vigil_getpwent_r(passwd* out, char* buf, size_t len, int* errnop) {
    return passwd_cursor.next(
        [&](size_t i) { return vigil::nss::passwd_at(system_table(), i, out, buf, len, errnop); });
}

VIGIL_EXPORT nss_status _nss_vigil_endpwent() {
    passwd_cursor.rewind();
    return NSS_STATUS_SUCCESS;
}

}  // extern "C"
