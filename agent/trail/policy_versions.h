// Which policy versions the PDP's answers named lately, to tell a new
// policy from a PDP that serves two versions at once (a rolling deploy
// behind a load balancer answers with both for a while): only a version not
// seen in the last hour counts as a change, so two alternating versions
// re-decide sessions once each, not at every answer.
//
//   PolicyVersions seen;
//   if (seen.is_new(answer.policy_version, now)) redecide_all();
#ifndef VIGIL_TRAIL_POLICY_VERSIONS_H
#define VIGIL_TRAIL_POLICY_VERSIONS_H

#include <chrono>
#include <map>
#include <string>

namespace vigil {

class PolicyVersions {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::hours kWindow{1};
    static constexpr size_t kMaxKept = 64;

    // Notes version as seen at now. True when it is a change: a version not
    // seen within kWindow, after at least one other was. Empty: false.
    bool is_new(const std::string& version, Clock::time_point now);

private:
    std::map<std::string, Clock::time_point> seen_;  // version -> last seen
    std::string latest_;                             // the last one named
};

}  // namespace vigil

#endif
