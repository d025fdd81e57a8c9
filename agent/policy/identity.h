// Who a user is, according to NSS on this host: never according to the
// request. Group rules match on this.
#ifndef VIGIL_POLICY_IDENTITY_H
#define VIGIL_POLICY_IDENTITY_H

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace vigil {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<std::string> groups;  // names, primary group included
    std::string name;                 // the account's name as NSS gives it
};

// std::nullopt when NSS does not know the user or cannot list their groups
// whole, or fails to name one of them (a partial list could miss the group
// a deny rule names).
std::optional<Identity> lookup_identity(const std::string& user);

// The account NSS names for uid (getpwuid): its name, uid and primary gid;
// groups are not listed (naming needs none). std::nullopt: no such account.
std::optional<Identity> account_by_uid(uid_t uid);

}  // namespace vigil

#endif
