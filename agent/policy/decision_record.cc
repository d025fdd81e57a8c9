#include "decision_record.h"

#include "timestamp.h"

namespace vigil {
namespace {

const char* event_name(Phase p) {
    switch (p) {
        case Phase::OpenSession: return "session_open";
        case Phase::CloseSession: return "session_close";
        case Phase::Reevaluate: return "reevaluation";
        case Phase::SessionEnd: return "session_end";
        case Phase::Grant: return "grant_request";
        default: return "decision";
    }
}

nlohmann::ordered_json request_json(const Request& q) {
    nlohmann::ordered_json j;
    j["service"] = q.service;
    j["user"] = q.user;
    if (!q.pam_user.empty()) j["pam_user"] = q.pam_user;
    if (!q.rhost.empty()) j["rhost"] = q.rhost;
    if (!q.tty.empty()) j["tty"] = q.tty;
    if (!q.ruser.empty()) j["ruser"] = q.ruser;
    if (!q.command.empty()) j["command"] = q.command;
    if (q.argv_truncated) j["argv_truncated"] = true;
    if (q.after_auth) j["after_auth"] = true;
    if (!q.ssh_auth_info.empty()) j["ssh_auth_info"] = q.ssh_auth_info;
    if (!q.xdg_session_id.empty()) j["xdg_session_id"] = q.xdg_session_id;
    if (q.pid) j["pid"] = q.pid;
    if (q.peer) j["peer"] = {{"pid", q.peer->pid}, {"uid", q.peer->uid}, {"gid", q.peer->gid}};
    return j;
}

nlohmann::ordered_json signals_json(const DecisionRecord& r) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& s : r.signals) {
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(r.at - s.observed_at);
        out.push_back({{"name", s.name}, {"value", s.value}, {"source", s.source}, {"age_ms", age.count()}});
    }
    return out;
}

// What a grant request asked for and, when allowed, was given.
nlohmann::ordered_json grant_json(const DecisionRecord& r) {
    const Request& q = r.request;
    nlohmann::ordered_json j;
    if (!q.grant_group.empty()) j["group"] = q.grant_group;
    if (!q.grant_account.empty()) j["account"] = q.grant_account;
    j["asked_seconds"] = q.grant_asked.count();
    if (r.decision.outcome == Outcome::Allow) j["granted_seconds"] = grant_length_given(q, r.decision).count();
    return j;
}

}  // namespace

std::chrono::seconds grant_length_given(const Request& q, const Decision& d) {
    return d.session_max ? std::min(q.grant_length, *d.session_max) : q.grant_length;
}

std::string recorded_outcome(const DecisionRecord& r) {
    const char* o = to_string(r.decision.outcome);
    return r.report && r.decision.outcome != Outcome::Allow ? std::string("would_") + o : std::string(o);
}

nlohmann::ordered_json to_json(const DecisionRecord& r) {
    const Decision& d = r.decision;
    nlohmann::ordered_json j;
    j["time"] = rfc3339(r.at);
    j["event"] = event_name(r.request.phase);
    j["id"] = r.request_id;
    j["phase"] = to_string(r.request.phase);
    nlohmann::ordered_json facts = request_json(r.request);
    for (auto& [k, v] : facts.items()) j[k] = v;
    if (r.identity) j["uid"] = r.identity->uid, j["groups"] = r.identity->groups;
    j["identity_age_ms"] = r.identity_age.count();
    if (!r.ssh_certificate.is_null()) j["ssh_certificate"] = r.ssh_certificate;
    if (!r.ssh_untrusted.is_null()) j["ssh_certificate_untrusted"] = r.ssh_untrusted;
    j["signals"] = signals_json(r);
    j["path"] = r.path;
    if (!r.pdp.is_null()) j["pdp"] = r.pdp;
    j["policy_version"] = r.policy_version;
    j["rule"] = d.rule;
    j["outcome"] = recorded_outcome(r);
    if (r.report) j["mode"] = "report";
    j["reason_user"] = d.reason_user;
    j["reason_admin"] = d.reason_admin;
    if (d.session_max) j["session_max_seconds"] = d.session_max->count();
    if (d.session_idle) j["session_idle_seconds"] = d.session_idle->count();
    if (d.reevaluate) j["reevaluate_seconds"] = d.reevaluate->count();
    if (d.outcome == Outcome::StepUp) {
        j["step_up"] = d.step_up_method;
        if (d.needs_purpose) j["needs_purpose"] = true;
    }
    if (r.request.mfa) {
        nlohmann::ordered_json mfa = {{"method", r.request.mfa->method}, {"time", rfc3339(r.request.mfa->at)}};
        if (!r.request.mfa->subject.empty()) mfa["subject"] = r.request.mfa->subject;
        if (!r.request.mfa->amr.empty()) mfa["amr"] = r.request.mfa->amr;
        j["mfa"] = mfa;
    }
    if (r.request.phase == Phase::Grant) j["grant"] = grant_json(r);
    if (!r.request.purpose.empty()) j["purpose"] = r.request.purpose;
    if (!r.decision_id.empty()) j["decision_id"] = r.decision_id;
    j["latency_us"] = r.latency.count();
    return j;
}

}  // namespace vigil
