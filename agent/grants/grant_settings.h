// [grants] in vigil.toml(5): which groups and ephemeral accounts vigild may
// grant, for how long, and how often a user may ask. Parsed by config.cc;
// here so the grant store (grants.h) needs no part of the rest of the
// configuration.
#ifndef VIGIL_GRANTS_GRANT_SETTINGS_H
#define VIGIL_GRANTS_GRANT_SETTINGS_H

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

// [grants]: just-in-time group memberships, served by libnss_vigil.so.2.
struct GrantGroupSettings {
    std::string name;
    uint32_t gid = 0;
};
// An ephemeral account vigild may grant ([[grants.account]]): it exists,
// served by libnss_vigil, only while granted.
struct GrantAccountSettings {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string gecos;  // empty: "vigil grant for <requester>"
    std::string home;
    std::string shell = "/bin/bash";
};
struct GrantSettings {
    std::string table = "/var/lib/vigil/grants";  // libnss_vigil's compiled-in path
    std::chrono::seconds max{3600};               // the longest grant
    std::vector<GrantGroupSettings> groups;       // the only groups that may be granted
    std::vector<GrantAccountSettings> accounts;   // the only accounts that may be granted
    // Per requesting uid: this many requests at once, then one more each
    // requests_every (a token bucket); the rest are refused undecided.
    unsigned requests_burst = 5;
    std::chrono::seconds requests_every{15};
};

}  // namespace vigil

#endif
