#include "pdp_protocols.h"

#include <fmt/format.h>

namespace vigil {
namespace {

Result<nlohmann::json> parse_body(const std::string& body, const char* who) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return err(fmt::format("{} answered with malformed JSON", who));
    if (!j.is_object()) return err(fmt::format("{} answered with JSON that is not an object", who));
    return j;
}

Result<PdpAnswer> authzen_decision(const nlohmann::json& j) {
    auto d = j.find("decision");
    if (d == j.end() || !d->is_boolean()) return err("AuthZEN answer has no boolean \"decision\"");
    PdpAnswer a;
    a.allow = d->get<bool>();
    if (auto c = j.find("context"); c != j.end() && !c->is_null()) {
        if (!c->is_object()) return err("AuthZEN answer's \"context\" is not an object");
        a.context = *c;
    }
    return a;
}

// Cerbos principals need at least one role; a user in no named group gets
// the role "user", which policies can match like any other.
nlohmann::json cerbos_roles(const PdpQuery& q) {
    auto groups = q.subject.at("properties").value("groups", nlohmann::json::array());
    return groups.empty() ? nlohmann::json::array({"user"}) : nlohmann::json(groups);
}

// Cerbos has no request context: vigild's context, with the action's tty
// and command, travels as principal.attr.context.
nlohmann::ordered_json cerbos_context(const PdpQuery& q) {
    nlohmann::ordered_json ctx = q.context;
    for (auto& [k, v] : q.action.at("properties").items()) ctx[k] = v;
    return ctx;
}

nlohmann::ordered_json cerbos_principal(const PdpQuery& q) {
    nlohmann::ordered_json attr = q.subject.at("properties");
    attr["type"] = q.subject.at("type");
    attr["context"] = cerbos_context(q);
    return {{"id", q.subject.at("id")}, {"roles", cerbos_roles(q)}, {"attr", attr}};
}

bool is_reason_key(const std::string& k) { return k == "reason_user" || k == "reason_admin" || k == "policy_version"; }

// Outputs of the rules evaluated for `action`, merged into context.
Status merge_outputs(const nlohmann::json& outputs, const std::string& action, bool allow, nlohmann::json& context) {
    if (outputs.is_null()) return Ok{};
    if (!outputs.is_array()) return err("Cerbos \"outputs\" is not a list");
    for (const auto& o : outputs) {
        if (!o.is_object() || !o.contains("val")) return err("Cerbos output without \"val\"");
        if (o.contains("action") && o["action"] != action) continue;
        const auto& val = o["val"];
        if (!val.is_object()) continue;  // a bare value names no obligation
        for (auto& [k, v] : val.items()) {
            if (!allow && !is_reason_key(k)) continue;  // a deny carries no limits or step-ups
            if (!context.contains(k)) {
                context[k] = v;
            } else if (allow && context[k] != v && !is_reason_key(k)) {
                return err(fmt::format("Cerbos rules disagree on obligation \"{}\"", k));
            }
        }
    }
    return Ok{};
}

// obj[key] when obj is an object holding key, else null. json::value()
// throws on a non-object or a value of another type, and an answer may be
// anything: fuzz_pdp_authzen found "actions" given twice, an object and
// then a list (the last one wins).
const nlohmann::json* field(const nlohmann::json* obj, const std::string& key) {
    if (obj == nullptr || !obj->is_object()) return nullptr;
    auto it = obj->find(key);
    return it == obj->end() ? nullptr : &*it;
}

// One Cerbos check result (native, or inside an AuthZEN cerbos.response).
Result<PdpAnswer> cerbos_result(const nlohmann::json& r, const std::string& action) {
    if (!r.is_object()) return err("Cerbos result is not an object");
    const nlohmann::json* effect = field(field(&r, "actions"), action);
    if (effect == nullptr || !effect->is_string()) {
        return err(fmt::format("Cerbos answer has no effect for action \"{}\"", action));
    }
    PdpAnswer a;
    a.allow = *effect == "EFFECT_ALLOW";
    a.context = nlohmann::json::object();
    const nlohmann::json* outputs = field(&r, "outputs");
    if (auto s = merge_outputs(outputs ? *outputs : nlohmann::json(), action, a.allow, a.context); !s) {
        return s.error();
    }
    // matchedPolicy names the policy and its version selector ("resource.host.vdefault");
    // a policy_version output, when the rules emit one, is the better answer.
    const nlohmann::json* matched = field(field(field(&r, "meta"), "actions"), action);
    if (const nlohmann::json* policy = field(matched, "matchedPolicy"); policy != nullptr && policy->is_string()) {
        a.policy_version = policy->get<std::string>();
    }
    return a;
}

Result<nlohmann::json> single_result(const nlohmann::json& j) {
    auto results = j.find("results");
    if (results == j.end() || !results->is_array() || results->size() != 1) {
        return err("Cerbos answer must hold exactly one result");
    }
    return (*results)[0];
}

}  // namespace

PdpCall authzen_request(const PdpQuery& q, AuthzenProfile profile, const std::string& request_id) {
    nlohmann::ordered_json body = to_json(q);
    if (profile == AuthzenProfile::Cerbos) {
        body["subject"]["properties"]["cerbos.roles"] = cerbos_roles(q);
        body["subject"]["properties"]["context"] = cerbos_context(q);
        body["context"]["cerbos.includeMeta"] = true;
        body["context"]["cerbos.requestId"] = request_id;
    }
    return {"/access/v1/evaluation", body};
}

namespace {

// One AuthZEN evaluation answer, single or in a batch.
Result<PdpAnswer> authzen_answer(const nlohmann::json& j, AuthzenProfile profile, const PdpQuery& q) {
    auto a = authzen_decision(j);
    if (!a || profile != AuthzenProfile::Cerbos || !a->context.contains("cerbos.response")) return a;
    // Cerbos: the obligations are the rule outputs inside its native answer.
    auto result = single_result(a->context["cerbos.response"]);
    if (!result) return result.error();
    auto inner = cerbos_result(*result, q.action.at("name").get<std::string>());
    if (!inner) return inner.error();
    if (inner->allow != a->allow) return err("Cerbos' AuthZEN decision contradicts its own result");
    return inner;
}

}  // namespace

Result<PdpAnswer> authzen_response(const std::string& body, AuthzenProfile profile, const PdpQuery& q) {
    auto j = parse_body(body, "the AuthZEN PDP");
    if (!j) return j.error();
    return authzen_answer(*j, profile, q);
}

PdpCall authzen_batch_request(const std::vector<PdpQuery>& queries, AuthzenProfile profile,
                              const std::vector<std::string>& request_ids, const std::string& batch_id) {
    nlohmann::ordered_json evaluations = nlohmann::ordered_json::array();
    for (size_t i = 0; i < queries.size(); ++i) {
        evaluations.push_back(authzen_request(queries[i], profile, request_ids.at(i)).body);
    }
    nlohmann::ordered_json body = {{"evaluations", evaluations}};
    if (profile == AuthzenProfile::Cerbos) {
        body["context"] = {{"cerbos.includeMeta", true}, {"cerbos.requestId", batch_id}};
    }
    return {"/access/v1/evaluations", body};
}

Result<std::vector<Result<PdpAnswer>>> authzen_batch_response(const std::string& body, AuthzenProfile profile,
                                                              const std::vector<PdpQuery>& queries) {
    auto j = parse_body(body, "the AuthZEN PDP");
    if (!j) return j.error();
    auto evals = j->find("evaluations");
    if (evals == j->end() || !evals->is_array() || evals->size() != queries.size()) {
        return err(fmt::format("AuthZEN batch answer must hold {} evaluations", queries.size()));
    }
    std::vector<Result<PdpAnswer>> out;
    // An evaluation that is not an object has no "decision": an error too.
    for (size_t i = 0; i < queries.size(); ++i) out.push_back(authzen_answer((*evals)[i], profile, queries[i]));
    return out;
}

PdpCall cerbos_request(const PdpQuery& q, const std::string& request_id) {
    // kind "host", or "command" for what sudo's approval plugin asks about:
    // each has its own resource policy.
    nlohmann::ordered_json resource = {
        {"kind", q.resource.at("type")}, {"id", q.resource.at("id")}, {"attr", q.resource.at("properties")}};
    nlohmann::ordered_json body = {
        {"requestId", request_id},
        {"includeMeta", true},
        {"principal", cerbos_principal(q)},
        {"resources", {{{"actions", {q.action.at("name")}}, {"resource", resource}}}},
    };
    return {"/api/check/resources", body};
}

Result<PdpAnswer> cerbos_response(const std::string& body, const PdpQuery& q) {
    auto j = parse_body(body, "Cerbos");
    if (!j) return j.error();
    auto result = single_result(*j);
    if (!result) return result.error();
    return cerbos_result(*result, q.action.at("name").get<std::string>());
}

PdpCall opa_request(const PdpQuery& q, const std::string& rule_path) {
    return {"/v1/data/" + rule_path, {{"input", to_json(q)}}};
}

Result<PdpAnswer> opa_response(const std::string& body) {
    auto j = parse_body(body, "OPA");
    if (!j) return j.error();
    auto result = j->find("result");
    PdpAnswer a;
    if (result == j->end()) {
        // Undefined: OPA evaluated the path and no rule there gave a value
        // (or nothing is loaded at opa_path). OPA has answered, and nothing
        // in its answer allows: a deny, never a fallback.
        a.context = {{"reason_admin", "OPA: no result (the rule at opa_path is undefined for this input)"}};
        return a;
    }
    if (result->is_boolean()) {
        a.allow = result->get<bool>();
        return a;
    }
    if (!result->is_object() || !result->contains("allow") || !(*result)["allow"].is_boolean()) {
        return err("OPA result must be a boolean or an object with a boolean \"allow\"");
    }
    a.allow = (*result)["allow"].get<bool>();
    a.context = *result;
    a.context.erase("allow");
    return a;
}

}  // namespace vigil
