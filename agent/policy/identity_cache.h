// Who a user is, without an NSS walk on every request: the last
// lookup_identity answer for each user, served again while nothing it was
// read from can have changed.
//
// - Local users and groups: the files NSS reads (/etc/passwd, /etc/group,
//   /etc/nsswitch.conf) and vigil's grant table are watched by their stat
//   (device, inode, size, mtime, ctime), taken on every request (a few
//   stat calls, against ~150 µs for getgrouplist). Any change, an edit in
//   place or a new file renamed over it, and the next request looks again.
// - Other NSS sources (SSSD, LDAP, systemd's userdb) change without a file
//   here: their answer is served for at most max_age.
// - Some answers change at a known time with no file changing: a grant's
//   row stops being served at its expiry (libnss_vigil checks it at every
//   read). next_change names that time; no answer is served past it.
// - A stat cannot show a second change within the kernel's timestamp tick
//   if the size stays the same: an answer read while a watched file is
//   younger than a second is used for that request only, never kept (git's
//   "racily clean" index entries, the same problem).
//
// Unknown users are remembered too (a scan for user names costs no NSS
// walk each time), under the same rules. At most max_entries users are
// held; a full cache starts again empty.
//
//   IdentityCache ids({{"/etc/passwd", "/etc/group"}, std::chrono::seconds(5)});
//   CachedIdentity c = ids.lookup("alice");   // c.identity; c.age: 0 = just read
#ifndef VIGIL_POLICY_IDENTITY_CACHE_H
#define VIGIL_POLICY_IDENTITY_CACHE_H

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "file_stamp.h"
#include "identity.h"

namespace vigil {

// When answers may next change though no watched file does; nullopt:
// never. Asked again whenever a watched file has changed.
using NextChange = std::function<std::optional<std::chrono::system_clock::time_point>()>;

struct IdentityCacheSettings {
    std::vector<std::string> watched;     // files whose change drops every answer
    std::chrono::milliseconds max_age{};  // 0: no cache, every request looks up
    NextChange next_change;               // empty: answers change only with the files
    size_t max_entries = 4096;
};

// The files local users and groups come from, the grant table added when
// grants are configured (empty path: none).
std::vector<std::string> identity_sources(const std::string& grant_table);

struct CachedIdentity {
    std::optional<Identity> identity;
    std::chrono::milliseconds age{0};  // how long ago NSS gave this answer
};

using IdentityLookup = std::function<std::optional<Identity>(const std::string& user)>;
using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

class IdentityCache {
public:
    explicit IdentityCache(IdentityCacheSettings settings, IdentityLookup lookup = lookup_identity,
                           SteadyNow now = std::chrono::steady_clock::now);

    // Thread-safe; NSS is asked outside the lock.
    CachedIdentity lookup(const std::string& user);
    // The kept answer, if it may still be served; never asks NSS (vigild's
    // event loop decides with it, and must not wait on SSSD or LDAP).
    std::optional<CachedIdentity> cached(const std::string& user);

private:
    using Stamp = FileStamp;
    struct Entry {
        std::optional<Identity> identity;
        std::chrono::steady_clock::time_point read_at;
        std::vector<Stamp> stamps;
    };

    std::vector<Stamp> stamps_now() const;
    // Whether an answer kept under stamps may still be served at wall time now.
    bool before_next_change(const std::vector<Stamp>& stamps, std::chrono::system_clock::time_point now);
    static bool racy(const std::vector<Stamp>& stamps);
    std::optional<CachedIdentity> fresh(const std::string& user, const std::vector<Stamp>& stamps,
                                        std::chrono::steady_clock::time_point now);
    void keep(const std::string& user, Entry entry);

    IdentityCacheSettings settings_;
    IdentityLookup lookup_;
    SteadyNow now_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
    std::vector<Stamp> change_stamps_;  // the files as they were when next_change was asked
    std::optional<std::chrono::system_clock::time_point> change_at_;
};

}  // namespace vigil

#endif  // VIGIL_POLICY_IDENTITY_CACHE_H
