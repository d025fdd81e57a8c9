#include "pdp_query.h"

#include <regex>

#include "cidr.h"
#include "command_pattern.h"
#include "decision_record.h"
#include "sha256.h"
#include "stale_signals.h"
#include "timestamp.h"

namespace vigil {
namespace {

nlohmann::ordered_json labels_json(const HostSettings& host) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : host.labels) j[k] = v;
    return j;
}

// A signal older than its max_age counts as missing (DESIGN.md, 4), for the
// PDP as for local requirements: a stale "active" must not read as current.
nlohmann::ordered_json posture_json(const posture::Snapshot& signals, std::chrono::system_clock::time_point at,
                                    std::chrono::seconds max_age) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& s : signals) {
        if (!is_stale(s, at, max_age)) j[s.name] = s.value;
    }
    return j;
}

std::string joined(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

// A certificate key id matching [subject] workload_key_id names a workload.
bool is_workload(const nlohmann::ordered_json& cert, const SubjectSettings& s) {
    if (s.workload_key_id.empty() || !cert.is_object() || !cert.contains("key_id")) return false;
    return std::regex_search(cert["key_id"].get<std::string>(), std::regex(s.workload_key_id));
}

nlohmann::ordered_json subject_json(const DecisionRecord& r, const Config& c) {
    const Request& q = r.request;
    nlohmann::ordered_json props;
    if (r.identity) props["uid"] = r.identity->uid, props["groups"] = r.identity->groups;
    if (!r.ssh_certificate.is_null()) props["ssh_certificate"] = r.ssh_certificate;
    if (!q.ruser.empty()) props["invoked_by"] = q.ruser;
    bool workload = is_workload(r.ssh_certificate, c.subject);
    std::string id = q.user;
    if (workload) {
        props["user"] = q.user;  // the local account the workload logs in as
        id = r.ssh_certificate["key_id"].get<std::string>();
    }
    return {{"type", workload ? "workload" : "user"}, {"id", id}, {"properties", props}};
}

// The command in the action's properties only when it is /proc's cmdline
// (the PAM account phase): best effort, as the invoker typed it. What sudo's
// approval plugin resolved is the resource (command_json).
nlohmann::ordered_json action_json(const Request& q) {
    nlohmann::ordered_json props = {{"service", q.service}};
    if (!q.pam_user.empty()) props["pam_user"] = q.pam_user;
    if (q.sudo) {
        props["argv_source"] = "plugin";
    } else if (!q.command.empty()) {
        props["command"] = joined(q.command), props["argv"] = q.command;
        if (q.argv_truncated) props["argv_truncated"] = true;
        props["argv_source"] = "cmdline";
    }
    if (!q.tty.empty()) props["tty"] = q.tty;
    if (!q.grant_group.empty()) props["group"] = q.grant_group, props["seconds"] = q.grant_length.count();
    if (!q.grant_account.empty()) props["account"] = q.grant_account, props["seconds"] = q.grant_length.count();
    return {{"name", action_for_service(q.service)}, {"properties", props}};
}

// The context fields that differ between two askings of the same question.
// Nothing else may go here: whatever is left out of question_key lets an
// answer to one request stand in for another that differs in it.
constexpr const char* kPerRequest[] = {"time", "request_id"};

nlohmann::ordered_json context_json(const DecisionRecord& r, const Config& c) {
    const Request& q = r.request;
    nlohmann::ordered_json ctx = {{"time", rfc3339(r.at)}, {"request_id", r.request_id}};
    if (!q.rhost.empty()) ctx[parse_ip(q.rhost) ? "source_ip" : "source_host"] = q.rhost;
    ctx["policy"] = {{"local_version", c.version}};
    if (q.mfa) {
        nlohmann::ordered_json mfa = {{"method", q.mfa->method}, {"time", rfc3339(q.mfa->at)}};
        if (!q.mfa->subject.empty()) mfa["subject"] = q.mfa->subject;
        if (!q.mfa->amr.empty()) mfa["amr"] = q.mfa->amr;
        if (!q.mfa->acr.empty()) mfa["acr"] = q.mfa->acr;
        ctx["mfa"] = mfa;
    }
    if (!q.purpose.empty()) ctx["purpose"] = q.purpose;
    return ctx;
}

// The host's labels and posture, after what j already holds.
nlohmann::ordered_json host_json(const DecisionRecord& r, const Config& c,
                                 nlohmann::ordered_json j = nlohmann::ordered_json::object()) {
    j["labels"] = labels_json(c.host);
    j["posture"] = posture_json(r.signals, r.at, c.posture.max_age);
    return j;
}

// One command sudo is about to run, as its approval plugin saw it: the
// program sudo resolved (id; "sudoedit" for sudoedit, whose editor runs as
// the user), run_argv, run-as and cwd, and the host it runs on, whose labels
// and posture a policy on commands needs as much as one on logins.
nlohmann::ordered_json command_json(const DecisionRecord& r, const Config& c) {
    const Request& q = r.request;
    const SudoCommand& cmd = *q.sudo;
    bool edit = cmd.sudoedit_files > 0;
    nlohmann::ordered_json props;
    if (edit) {
        props["editor"] = cmd.path;
        props["sudoedit_files"] = sudoedit_files(q.command, cmd.sudoedit_files, cmd.cwd);
    } else {
        props["path_resolved"] = cmd.resolved.empty() ? cmd.path : cmd.resolved;
    }
    props["argv"] = q.command;
    if (q.argv_truncated) props["argv_truncated"] = true;
    if (!cmd.runas_user.empty()) props["runas_user"] = cmd.runas_user;
    if (cmd.runas_uid) props["runas_uid"] = *cmd.runas_uid;
    if (!cmd.runas_group.empty()) props["runas_group"] = cmd.runas_group;
    if (cmd.runas_gid) props["runas_gid"] = *cmd.runas_gid;
    if (!cmd.cwd.empty()) props["cwd"] = cmd.cwd;
    props["host"] = host_json(r, c, {{"id", c.host.id}});
    return {{"type", "command"}, {"id", edit ? std::string("sudoedit") : cmd.path}, {"properties", props}};
}

}  // namespace

std::string action_for_service(const std::string& service) {
    if (service == "sshd") return "ssh";
    if (service == "sudo" || service == "sudo-i") return "sudo";
    if (service == "su" || service == "su-l") return "su";
    return service;
}

PdpQuery build_pdp_query(const DecisionRecord& r, const Config& c) {
    PdpQuery q;
    q.subject = subject_json(r, c);
    q.action = action_json(r.request);
    if (r.request.sudo) {
        q.resource = command_json(r, c);
    } else {
        q.resource = {{"type", "host"}, {"id", c.host.id}, {"properties", host_json(r, c)}};
    }
    q.context = context_json(r, c);
    return q;
}

nlohmann::ordered_json to_json(const PdpQuery& q) {
    return {{"subject", q.subject}, {"action", q.action}, {"resource", q.resource}, {"context", q.context}};
}

std::string subject_key(const PdpQuery& q) { return q.subject.value("type", "") + "/" + q.subject.value("id", ""); }

std::string question_key(const PdpQuery& q) {
    // Plain (sorted) json: the same facts give the same text in any order.
    nlohmann::json j = to_json(q);
    if (j["context"].is_object()) {
        for (const char* k : kPerRequest) j["context"].erase(k);
    }
    // As sent: bytes that are not UTF-8 are replaced in the request too.
    return sha256_hex(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace vigil
