// Deciding with a remote PDP, after the local rules had their say:
//
//   1. a matching local deny rule has already denied (the PDP is not asked);
//   2. a matching allow rule with ask_pdp = false decides here;
//   3. otherwise the PDP decides, its obligations are checked and enforced;
//   4. if the PDP cannot answer in time, the fallback of the first matching
//      allow rule (or [pdp] fallback) decides: deny, local (that allow
//      rule), or cached (the PDP's last answer for the same user, action
//      and host, if younger than cache_max_age).
//
// Every path leaves a note in the record (r.path, r.pdp) for the trail.
#ifndef VIGIL_AGENT_REMOTE_DECISION_H
#define VIGIL_AGENT_REMOTE_DECISION_H

#include "config.h"
#include "decision.h"
#include "local_policy.h"
#include "pdp_cache.h"
#include "pdp_client.h"

namespace vigil {

struct DecisionRecord;

struct RemotePdp {
    const Config& config;
    PdpClient& client;
    PdpCache& allow_cache;   // positive cache, per policy
    PdpCache& last_answers;  // for fallback = "cached", survives reloads
};

Decision decide_remotely(DecisionRecord& r, const RuleMatch& match, RemotePdp& pdp);

}  // namespace vigil

#endif
