// Just-in-time grants: a group membership that vigild writes to the table
// libnss_vigil.so.2 serves, for a bounded time, after the rules (or the PDP)
// allowed the request. The module ends the membership by itself at expiry;
// vigild also sweeps expired rows out and ends the sessions that depended
// on them.
//
//   Grants grants(config.grants);
//   auto g = grants.grant("alice", "vigil-sudo", 30min, "INC-1 disk full");
//   for (const GrantMember& gone : grants.sweep(now)) end_sessions_of(gone.grant_id);
#ifndef VIGIL_AGENT_GRANTS_H
#define VIGIL_AGENT_GRANTS_H

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "grant_table.h"
#include "result.h"

namespace vigil {

struct ActiveGrant {
    std::string id;
    std::string group;
    std::string user;
    std::chrono::system_clock::time_point expires_at;
    std::string reason;  // empty for grants made before vigild last started
};

class Grants {
public:
    explicit Grants(GrantSettings settings);

    // Writes user's membership of group until now + length (the table
    // declares the group too). Replaces an earlier grant of the same group
    // to the same user.
    Result<ActiveGrant> grant(const std::string& user, const std::string& group, std::chrono::seconds length,
                              const std::string& reason);
    // Ends grant id now (it was bound to a session that ended); returns the
    // membership that ended, empty when there was none.
    std::optional<GrantMember> revoke(const std::string& id);
    // Removes every expired row; returns the memberships that ended.
    std::vector<GrantMember> sweep(std::chrono::system_clock::time_point now);
    // Live grants, all or one user's.
    std::vector<ActiveGrant> list(const std::string& user = "") const;
    const GrantSettings& settings() const { return settings_; }

private:
    GrantSettings settings_;
    mutable std::mutex mu_;
    std::map<std::string, std::string> reasons_;  // grant id -> reason
};

}  // namespace vigil

#endif
