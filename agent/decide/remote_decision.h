// Deciding with a remote PDP, after the local rules had their say:
//
//   1. a matching local deny rule has already denied (the PDP is not asked);
//   2. a matching allow rule with ask_pdp = false decides here;
//   3. otherwise the PDP decides, its obligations are checked and enforced;
//      a PDP that refuses the request (a 4xx) has answered: deny;
//   4. if the PDP cannot answer in time, the fallback of the first matching
//      allow rule (or [pdp] fallback) decides: deny, local (that allow
//      rule), or cached (the PDP's last answer to the same question, if
//      younger than cache_max_age).
//
// Both caches are keyed on the whole question (question_key): every fact
// sent to the PDP but the request's time and id.
//
// Every path leaves a note in the record (r.path, r.pdp) for the trail.
#ifndef VIGIL_DECIDE_REMOTE_DECISION_H
#define VIGIL_DECIDE_REMOTE_DECISION_H

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "config.h"
#include "decision.h"
#include "local_policy.h"
#include "pdp_cache.h"
#include "pdp_client.h"

namespace vigil {

struct DecisionRecord;

// Asks the PDP one question: PdpClient::ask in vigild, a stand-in in the
// unit tests, so every fallback can be tried against every PDP result.
// key is question_key(query), worked out once by the caller.
using PdpAsk = std::function<PdpResult(const PdpQuery& query, const std::string& key, const std::string& request_id,
                                       std::chrono::milliseconds deadline)>;

struct RemotePdp {
    const Config& config;
    PdpAsk ask;
    PdpCache& allow_cache;   // positive cache, per policy
    PdpCache& last_answers;  // for fallback = "cached", survives reloads
};

// The PdpAsk of a real client.
PdpAsk asking(PdpClient& client);

Decision decide_remotely(DecisionRecord& r, const RuleMatch& match, RemotePdp& pdp);

// decide_remotely in two steps, for many requests in one PDP call:
// prepare_remote decides what needs no PDP (ask_pdp = false, a cached
// allow) or says what to ask; conclude_remote takes the PDP's result.
struct RemoteAsk {
    std::optional<Decision> decided;  // set: no PDP call
    PdpQuery query;
    std::string key;  // question_key(query): the caches' and SharedCalls' key, worked out once
    bool use_cache = false;
};
RemoteAsk prepare_remote(DecisionRecord& r, const RuleMatch& match, RemotePdp& pdp);
Decision conclude_remote(DecisionRecord& r, const RuleMatch& match, RemotePdp& pdp, const RemoteAsk& ask,
                         const PdpResult& res);
// The PDP asked what prepare_remote left undecided, within the request's
// budget, and its result concluded.
Decision ask_and_conclude(DecisionRecord& r, const RuleMatch& match, RemotePdp& pdp, const RemoteAsk& ask);
// What vigild leaves of a module's budget for the answer to reach it: the
// PDP call ends this long before, and a request still waiting for a worker
// then is told "busy" (server.cc).
inline constexpr std::chrono::milliseconds kBudgetMargin{150};

// How long the PDP may take for r's request.
std::chrono::milliseconds pdp_deadline(const Request& q, const PdpSettings& p);

}  // namespace vigil

#endif
