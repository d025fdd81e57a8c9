// Just-in-time grants: a group membership, or an ephemeral account, that
// vigild writes to the table libnss_vigil.so.2 serves, for a bounded time, after the rules (or the PDP)
// allowed the request. The module ends the membership by itself at expiry;
// vigild also sweeps expired rows out and ends the sessions that depended
// on them.
//
//   Grants grants(config.grants);
//   auto g = grants.grant("alice", "vigil-sudo", 30min, "INC-1 disk full");
//   auto a = grants.grant_account("alice", "breakglass", 15min, "INC-2");
//   for (const EndedGrant& gone : grants.sweep(now)) end_sessions_of(gone.grant_id);
#ifndef VIGIL_GRANTS_GRANTS_H
#define VIGIL_GRANTS_GRANTS_H

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "grant_settings.h"
#include "grant_table.h"
#include "grant_table_file.h"
#include "result.h"

namespace vigil {

struct ActiveGrant {
    std::string id;
    std::string group;    // a membership: the group (user is the member)
    std::string account;  // an ephemeral account: its name (user asked for it)
    std::string user;     // empty for an account granted before vigild last started
    std::chrono::system_clock::time_point expires_at;
    std::string reason;  // empty for grants made before vigild last started
};

// A grant that is over: expired, or ended with the session it was bound to.
struct EndedGrant {
    std::string grant_id;
    std::string what;  // "vigil-sudo of alice", "account breakglass"
};

class Grants {
public:
    explicit Grants(GrantSettings settings);

    // Writes user's membership of group until now + length (the table
    // declares the group too). Replaces an earlier grant of the same group
    // to the same user.
    Result<ActiveGrant> grant(const std::string& user, const std::string& group, std::chrono::seconds length,
                              const std::string& reason);
    // Creates the [[grants.account]] named account until now + length, for
    // requester. Refused while it is granted to someone else; the same
    // requester extends it.
    Result<ActiveGrant> grant_account(const std::string& requester, const std::string& account,
                                      std::chrono::seconds length, const std::string& reason);
    // Ends grant id now (it was bound to a session that ended); empty when
    // there was no such grant.
    std::optional<EndedGrant> revoke(const std::string& id);
    // Removes every expired row; returns the grants that ended.
    std::vector<EndedGrant> sweep(std::chrono::system_clock::time_point now);
    // Live grants: all, or those user's sessions depend on (memberships of
    // user, and the account user when it is a granted account).
    std::vector<ActiveGrant> list(const std::string& user = "") const;
    const GrantSettings& settings() const { return settings_; }

private:
    GrantSettings settings_;
    mutable std::mutex mu_;
    mutable GrantTableFile file_;                 // under mu_
    std::map<std::string, std::string> reasons_;  // grant id -> reason
    std::map<std::string, std::string> owners_;   // account grant id -> requester
};

}  // namespace vigil

#endif
