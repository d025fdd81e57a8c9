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

// What sudo resolved (the approval plugin): the program, as whom, where.
void write_sudo(JsonWriter& w, const SudoCommand& c) {
    w.key("sudo").begin_object();
    w.field("path", c.path);
    if (!c.resolved.empty()) w.field("resolved", c.resolved);
    if (!c.runas_user.empty()) w.field("runas_user", c.runas_user);
    if (c.runas_uid) w.field("runas_uid", *c.runas_uid);
    if (!c.runas_group.empty()) w.field("runas_group", c.runas_group);
    if (c.runas_gid) w.field("runas_gid", *c.runas_gid);
    if (!c.cwd.empty()) w.field("cwd", c.cwd);
    if (c.sudoedit_files) w.field("sudoedit_files", c.sudoedit_files);
    w.end_object();
}

void write_request(JsonWriter& w, const Request& q) {
    w.field("service", q.service).field("user", q.user);
    if (!q.pam_user.empty()) w.field("pam_user", q.pam_user);
    if (!q.rhost.empty()) w.field("rhost", q.rhost);
    if (!q.tty.empty()) w.field("tty", q.tty);
    if (!q.ruser.empty()) w.field("ruser", q.ruser);
    if (!q.command.empty()) {
        w.key("command").begin_array();
        for (const std::string& a : q.command) w.value(a);
        w.end_array();
        // Exact from sudo itself, or read from /proc by the PAM module
        // (sudo's own command line, options unparsed): best effort.
        w.field("argv_source", q.sudo ? "plugin" : "cmdline");
    }
    if (q.argv_truncated) w.field("argv_truncated", true);
    if (q.sudo) write_sudo(w, *q.sudo);
    if (q.after_auth) w.field("after_auth", true);
    if (!q.ssh_auth_info.empty()) w.field("ssh_auth_info", q.ssh_auth_info);
    if (!q.xdg_session_id.empty()) w.field("xdg_session_id", q.xdg_session_id);
    if (q.pid) w.field("pid", q.pid);
    if (q.peer) {
        w.key("peer").begin_object();
        w.field("pid", q.peer->pid).field("uid", q.peer->uid).field("gid", q.peer->gid);
        w.end_object();
    }
}

void write_signals(JsonWriter& w, const DecisionRecord& r) {
    w.key("signals").begin_array();
    for (const auto& s : r.signals) {
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(r.at - s.observed_at);
        w.begin_object();
        w.field("name", s.name).field("value", s.value).field("source", s.source).field("age_ms", age.count());
        w.end_object();
    }
    w.end_array();
}

// What a grant request asked for and, when allowed, was given.
void write_grant(JsonWriter& w, const DecisionRecord& r) {
    const Request& q = r.request;
    w.key("grant").begin_object();
    if (!q.grant_group.empty()) w.field("group", q.grant_group);
    if (!q.grant_account.empty()) w.field("account", q.grant_account);
    w.field("asked_seconds", q.grant_asked.count());
    if (r.decision.outcome == Outcome::Allow) w.field("granted_seconds", grant_length_given(q, r.decision).count());
    w.end_object();
}

void write_mfa(JsonWriter& w, const StepUpProof& m) {
    w.key("mfa").begin_object();
    w.field("method", m.method).field("time", rfc3339(m.at));
    if (!m.subject.empty()) w.field("subject", m.subject);
    if (!m.amr.empty()) {
        w.key("amr").begin_array();
        for (const std::string& a : m.amr) w.value(a);
        w.end_array();
    }
    w.end_object();
}

// A nested document the record carries as parsed (a certificate, the PDP
// exchange): its own dump, with the same handling of bytes that are not
// UTF-8.
void write_document(JsonWriter& w, std::string_view key, const nlohmann::ordered_json& j) {
    w.key(key).raw(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

std::chrono::seconds grant_length_given(const Request& q, const Decision& d) {
    return d.session_max ? std::min(q.grant_length, *d.session_max) : q.grant_length;
}

std::string recorded_outcome(const DecisionRecord& r) {
    const char* o = to_string(r.decision.outcome);
    return r.report && r.decision.outcome != Outcome::Allow ? std::string("would_") + o : std::string(o);
}

void write_json(JsonWriter& w, const DecisionRecord& r) {
    const Decision& d = r.decision;
    w.begin_object();
    w.field("time", rfc3339(r.at))
        .field("event", event_name(r.request.phase))
        .field("id", r.request_id)
        .field("phase", to_string(r.request.phase));
    write_request(w, r.request);
    if (r.identity) {
        w.field("uid", r.identity->uid).key("groups").begin_array();
        for (const std::string& g : r.identity->groups) w.value(g);
        w.end_array();
    }
    w.field("identity_age_ms", r.identity_age.count());
    if (!r.ssh_certificate.is_null()) write_document(w, "ssh_certificate", r.ssh_certificate);
    if (!r.ssh_untrusted.is_null()) write_document(w, "ssh_certificate_untrusted", r.ssh_untrusted);
    write_signals(w, r);
    w.field("path", r.path);
    if (!r.pdp.is_null()) write_document(w, "pdp", r.pdp);
    w.field("policy_version", r.policy_version).field("rule", d.rule).field("outcome", recorded_outcome(r));
    if (r.report) w.field("mode", "report");
    w.field("reason_user", d.reason_user).field("reason_admin", d.reason_admin);
    if (d.session_max) w.field("session_max_seconds", d.session_max->count());
    if (d.session_idle) w.field("session_idle_seconds", d.session_idle->count());
    if (d.reevaluate) w.field("reevaluate_seconds", d.reevaluate->count());
    if (d.outcome == Outcome::StepUp) {
        w.field("step_up", d.step_up_method);
        if (d.needs_purpose) w.field("needs_purpose", true);
    }
    if (r.request.mfa) write_mfa(w, *r.request.mfa);
    if (r.request.phase == Phase::Grant) write_grant(w, r);
    if (!r.request.purpose.empty()) w.field("purpose", r.request.purpose);
    if (!r.decision_id.empty()) w.field("decision_id", r.decision_id);
    w.field("latency_us", r.latency.count());
    w.end_object();
}

std::string json_text(const DecisionRecord& r) {
    std::string text;
    JsonWriter w(text);
    write_json(w, r);
    return text;
}

}  // namespace vigil
