// The three PDP wire protocols, as pure functions from a PdpQuery to an HTTP
// request and from a response body to an answer. No I/O here, so each
// mapping is unit-tested against the documented shapes.
//
//   PdpCall call = cerbos_request(query, request_id);   // path + JSON body
//   Result<PdpAnswer> a = cerbos_response(body, query);
#ifndef VIGIL_PDP_PDP_PROTOCOLS_H
#define VIGIL_PDP_PDP_PROTOCOLS_H

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pdp_query.h"
#include "result.h"

namespace vigil {

struct PdpCall {
    std::string path;  // appended to the PDP's base URL
    nlohmann::ordered_json body;
};

struct PdpAnswer {
    bool allow = false;
    nlohmann::json context;      // obligations and information, parsed later
    std::string policy_version;  // when the protocol reports one outside context
};

// OpenID AuthZEN Authorization API 1.0: POST /access/v1/evaluation.
PdpCall authzen_request(const PdpQuery& q, AuthzenProfile profile, const std::string& request_id);
Result<PdpAnswer> authzen_response(const std::string& body, AuthzenProfile profile, const PdpQuery& q);

// AuthZEN batch: POST /access/v1/evaluations with one whole evaluation per
// query (as authzen_request builds it; request_ids[i] for queries[i]). The
// Cerbos profile also sets cerbos.includeMeta in the batch's own context,
// which is where Cerbos 0.55 reads it for every evaluation.
PdpCall authzen_batch_request(const std::vector<PdpQuery>& queries, AuthzenProfile profile,
                              const std::vector<std::string>& request_ids, const std::string& batch_id);
// The evaluations in request order, each read as authzen_response reads a
// single answer (one may be malformed while the others stand). The whole
// answer fails unless it holds exactly one evaluation per query.
Result<std::vector<Result<PdpAnswer>>> authzen_batch_response(const std::string& body, AuthzenProfile profile,
                                                              const std::vector<PdpQuery>& queries);

// Cerbos' check API: POST /api/check/resources, resource kind "host". The
// principal's roles are the user's groups and the request context travels as
// principal.attr.context (conf/cerbos/ reads it there). Cerbos returns the
// outputs of every rule it evaluated, not only the deciding one, so: on
// allow the outputs for our action are merged (conflicting values are an
// error); on deny only the reasons and the policy version are kept.
PdpCall cerbos_request(const PdpQuery& q, const std::string& request_id);
Result<PdpAnswer> cerbos_response(const std::string& body, const PdpQuery& q);

// OPA's data API: POST /v1/data/<path> with {"input": <AuthZEN query>}. The
// rule's result is either a boolean or an object with a boolean "allow";
// the object's other keys are obligations. An answer without "result" (the
// rule is undefined for this input, OPA's `{}`) is a deny.
PdpCall opa_request(const PdpQuery& q, const std::string& rule_path);
Result<PdpAnswer> opa_response(const std::string& body);

}  // namespace vigil

#endif
