// The NSS status codes the module returns, decided in one place.
//
// glibc reads *errnop only to tell "buffer too small, call again with a
// larger one" (NSS_STATUS_TRYAGAIN with ERANGE) from other failures. A table
// that is missing, refused or invalid is reported like an unknown name: the
// module knows nothing, and the next source in nsswitch.conf (if any) decides.
#ifndef VIGIL_NSS_NSS_RESULT_H
#define VIGIL_NSS_NSS_RESULT_H

#include <nss.h>

#include <cerrno>

namespace vigil::nss {

inline nss_status found() { return NSS_STATUS_SUCCESS; }

inline nss_status not_found(int* errnop) {
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

// The caller's buffer cannot hold the entry; glibc retries with a larger one.
inline nss_status buffer_too_small(int* errnop) {
    *errnop = ERANGE;
    return NSS_STATUS_TRYAGAIN;
}

inline nss_status out_of_memory(int* errnop) {
    *errnop = ENOMEM;
    return NSS_STATUS_TRYAGAIN;
}

}  // namespace vigil::nss

#endif
