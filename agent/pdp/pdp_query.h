// What vigild tells a PDP about one request, in AuthZEN's shape: subject,
// action, resource (this host) and context. The Cerbos and OPA mappings are
// built from this same object, so every protocol sees the same facts.
//
//   PdpQuery q = build_pdp_query(record, config);
//   q.subject["properties"]["groups"]   // ["ops", "alice"]
#ifndef VIGIL_PDP_PDP_QUERY_H
#define VIGIL_PDP_PDP_QUERY_H

#include <nlohmann/json.hpp>
#include <string>

#include "config.h"

namespace vigil {

struct DecisionRecord;

struct PdpQuery {
    nlohmann::ordered_json subject;  // {type: "user"|"workload", id, properties}
    nlohmann::ordered_json action;   // {name: "ssh"|"sudo"|"su"|<service>, properties}
    // {type: "host", id, properties: {labels, posture}}; for a command sudo's
    // approval plugin asks about, {type: "command", id: the program,
    // properties: {argv, runas_*, cwd, ..., host: {id, labels, posture}}}
    nlohmann::ordered_json resource;
    nlohmann::ordered_json context;  // {time, request_id, source_ip, policy: {local_version}}
};

// The action a PAM service stands for: sshd -> ssh, sudo/sudo-i -> sudo,
// su/su-l -> su; any other service is sent under its own name.
std::string action_for_service(const std::string& service);

PdpQuery build_pdp_query(const DecisionRecord& r, const Config& config);

// The whole query as one AuthZEN evaluation request body.
nlohmann::ordered_json to_json(const PdpQuery& q);

// Who the query is about, "type/id" (e.g. "user/alice"): an AuthZEN batch
// holds one query per subject (batched_calls.h, PdpClient::rounds_by_subject).
std::string subject_key(const PdpQuery& q);

// What the query asks, as a short string (a SHA-256): the whole query but
// for the context fields that are new on every request (time, request_id).
// Two requests with the same key put the same question to the PDP, so one's
// answer may stand in for the other's (the positive cache, fallback =
// "cached"). Every fact the query carries is in the key, those added later
// too: a cached answer for `sudo ls` never answers `sudo bash`.
std::string question_key(const PdpQuery& q);

}  // namespace vigil

#endif
