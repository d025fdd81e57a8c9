// libcurl, loaded the first time vigild needs HTTP (a remote PDP, the
// device flow, a JWKS), not at start: with local rules vigild never maps
// libcurl and the ~25 libraries it pulls in (GnuTLS, Kerberos, LDAP, SSH,
// RTMP...: 3.4 MiB resident here, and their constructors run). systemd
// loads its optional libraries the same way.
//
// The code that uses libcurl calls it as usual: curl_library.cc defines the
// few curl_* functions vigild uses as hidden forwarders to the loaded
// library, so vigild does not link libcurl (debian/control names libcurl4 in
// Depends instead). Another curl_* function would fail to link: add its
// forwarder.
//
//   if (Status s = load_curl(); !s) return s;   // once: dlopen + curl_global_init
//   CURL* c = curl_easy_init();                  // then as with a linked libcurl
#ifndef VIGIL_PDP_CURL_LIBRARY_H
#define VIGIL_PDP_CURL_LIBRARY_H

#include "result.h"

namespace vigil {

// Loads libcurl.so.4 and runs curl_global_init, once per process
// (thread-safe); later calls return the first call's outcome. Until it has
// succeeded, the forwarders fail as libcurl does when out of memory.
Status load_curl();

}  // namespace vigil

#endif
