#include "engine.h"

#include <fmt/format.h>

#include "health.h"
#include "journal.h"
#include "local_policy.h"
#include "log.h"
#include "remote_decision.h"
#include "request_id.h"
#include "ssh_auth_info.h"
#include "telemetry.h"
#include "timestamp.h"

namespace vigil {
namespace {

Decision unknown_user(const Request& req) {
    Decision d;
    d.reason_user = "access denied by policy";
    d.reason_admin =
        fmt::format("NSS does not know user \"{}\" on this host, or could not list their groups", req.user);
    return d;
}

// Only the start of sudo's command line reached vigil: no rule and no PDP may
// judge a command it has not seen whole.
Decision truncated_argv() {
    Decision d;
    d.reason_user = "access denied: the command line is too long for vigil to check";
    d.reason_admin = "sudo's argv was truncated (argv_truncated): a command seen in part is never allowed";
    return d;
}

// sshd's auth phase: pam_vigil only adds a factor to a public key sshd has
// already accepted (AuthenticationMethods publickey,keyboard-interactive),
// or, with after_auth on its PAM line, to modules before it that checked a
// password. Without either, its "nothing to add" would leave the verdict to
// whatever follows in the stack, often pam_permit, so a Match block that
// enables password or keyboard-interactive alone would let anyone in.
Decision no_key_first() {
    Decision d;
    d.reason_user = "access denied: a second factor is only asked for after a public key";
    d.reason_admin =
        "sshd's auth phase with no completed publickey method in SSH_AUTH_INFO_0 (AuthenticationMethods must "
        "start with publickey, and ExposeAuthInfo must be yes)";
    return d;
}

Decision session_closed() {
    Decision d;
    d.outcome = Outcome::Allow;
    d.reason_admin = "session ended";
    return d;
}

Decision session_opened(const std::optional<RecentDecision>& account) {
    Decision d;
    d.outcome = Outcome::Allow;
    if (account) {
        d.session_max = account->session_max;
        d.session_idle = account->session_idle;
        d.reason_admin = "session follows account decision " + account->request_id;
    } else {
        d.reason_admin =
            "no recent account decision by this process or its parent; "
            "is pam_vigil.so missing from the account stack?";
    }
    return d;
}

}  // namespace

// Only what the module enforces has a mode: the PAM phases that can deny.
// Closing a session, re-deciding a live one (report mode watches none) and
// a grant request (no PAM stack to leave it to) are always enforced.
static bool reported(const Config& c, const Request& q) {
    switch (q.phase) {
        case Phase::Account:
        case Phase::Auth:
        case Phase::OpenSession:
        case Phase::DryRun: return c.rollout.mode_for(q.service) == Mode::Report;
        default: return false;
    }
}

Result<std::shared_ptr<Engine>> Engine::create(std::shared_ptr<const Config> config, AuditLog* audit,
                                               RecentDecisions* recent, PdpCache* last_answers,
                                               posture::SignalStore* posture) {
    std::unique_ptr<PdpClient> pdp;
    if (config->pdp.protocol != PdpProtocol::Local) {
        auto client = PdpClient::create(config->pdp);
        if (!client) return err(fmt::format("{}: [pdp]: {}", config->path, client.error().message));
        pdp = std::move(*client);
    }
    auto cas = TrustedCas::load(config->ssh);
    if (!cas) return err(fmt::format("{}: {}", config->path, cas.error().message));
    return std::make_shared<Engine>(std::move(config), audit, recent, last_answers, posture, std::move(pdp),
                                    std::move(*cas));
}

Engine::Engine(std::shared_ptr<const Config> config, AuditLog* audit, RecentDecisions* recent, PdpCache* last_answers,
               posture::SignalStore* posture, std::unique_ptr<PdpClient> pdp, TrustedCas cas)
    : config_(std::move(config)),
      audit_(audit),
      recent_(recent),
      last_answers_(last_answers ? last_answers : &own_last_answers_),
      posture_(posture),
      pdp_(std::move(pdp)),
      cas_(std::move(cas)) {}

void Engine::forget_cached_answers() {
    allow_cache_.clear();
    last_answers_->clear();
}

// The first requirement that does not hold, as a reason naming its signal.
std::string Engine::unmet(const std::vector<posture::Requirement>& reqs, const DecisionRecord& r) const {
    for (const auto& req : reqs) {
        std::string why = posture::check_requirement(req, r.signals, r.at, config_->posture.max_age);
        if (!why.empty()) return why;
    }
    return "";
}

static Decision posture_deny(const std::string& why, const std::string& rule) {
    Decision d;
    d.rule = rule;
    d.reason_user = "access denied: " + why;
    d.reason_admin = rule.empty() ? "[posture] require: " + why : "rule \"" + rule + "\" requires: " + why;
    return d;
}

// Sessions are not re-decided: sudo opens them for the target user, whom
// the rules never meant. They are filed under the account decision instead.
Decision Engine::link_session(DecisionRecord& r) const {
    std::optional<RecentDecision> account;
    if (recent_) account = recent_->find(r.request.pid, r.request.ppid);
    if (account) r.decision_id = account->request_id;
    r.account = account;
    return session_opened(account);
}

std::optional<Decision> Engine::decide_before_pdp(DecisionRecord& r, RuleMatch& m) const {
    if (r.request.phase == Phase::CloseSession) return session_closed();
    if (r.request.phase == Phase::OpenSession) return link_session(r);
    if (!r.identity) return unknown_user(r.request);
    if (r.request.argv_truncated) return truncated_argv();
    if (r.request.phase == Phase::Auth && r.request.service == "sshd" && r.ssh_key.empty() && !r.request.after_auth) {
        return no_key_first();
    }
    if (auto why = unmet(config_->posture.require, r); !why.empty()) return posture_deny(why, "");
    m = match_rules(config_->rules, r.request, *r.identity);
    if (m.deny) return deny_by(*m.deny, r.request);
    if (m.allow) {
        if (auto why = unmet(m.allow->require, r); !why.empty()) return posture_deny(why, m.allow->name);
    }
    if (!pdp_) return demand_step_up(m.allow ? allow_by(*m.allow, r.request) : default_deny(r.request), m.allow, r);
    return std::nullopt;
}

Decision Engine::decide_with(DecisionRecord& r) {
    RuleMatch m;
    if (auto d = decide_before_pdp(r, m)) return *d;
    RemotePdp remote{*config_, *pdp_, allow_cache_, *last_answers_};
    return demand_step_up(decide_remotely(r, m, remote), m.allow, r);
}

bool Engine::offers(const std::string& method) const {
    return (method == "totp" && config_->stepup.totp_configured) ||
           (method == "device" && config_->stepup.device_configured);
}

// A local allow rule may want a second factor or a purpose on top of the
// allow; the PDP asks through its step_up obligation. Either is satisfied
// by what the request carries: proven in this transaction, or remembered
// from a recent one (StepUpCoordinator::attach).
Decision Engine::demand_step_up(Decision d, const Rule* allow, const DecisionRecord& r) const {
    if (d.outcome == Outcome::Deny) return d;
    const Request& q = r.request;
    bool pdp_asked = d.outcome == Outcome::StepUp;
    std::string method = pdp_asked ? d.step_up_method : "";
    bool purpose = pdp_asked && d.needs_purpose;
    if (allow) {
        if (method.empty()) method = allow->step_up;
        purpose = purpose || allow->purpose;
    }
    bool method_ok = method.empty() || (q.mfa && q.mfa->method == method);
    bool purpose_ok = !purpose || !q.purpose.empty();
    if (method_ok && purpose_ok) {
        if (!pdp_asked) return d;
        // The PDP saw the proof in context.mfa and still asks: asking again
        // would loop, so the request ends here.
        d.outcome = Outcome::Deny;
        d.reason_user = "access denied: the policy was not satisfied by the second factor given";
        d.reason_admin += "; the PDP asked for a step-up again after one was given";
        return d;
    }
    if (!method_ok && !offers(method)) {
        Decision no;
        no.rule = d.rule;
        no.reason_user = "access denied: the policy asks for a second factor this host does not offer";
        no.reason_admin = fmt::format("step-up method \"{}\" is not configured under [stepup]", method);
        return no;
    }
    d.outcome = Outcome::StepUp;
    d.step_up_method = method_ok ? "" : method;
    d.needs_purpose = !purpose_ok;
    if (d.reason_user.empty()) {
        d.reason_user = method_ok ? "this request needs a reason" : "this request needs a second factor";
    }
    d.reason_admin += fmt::format("; step-up needed:{}{}", method_ok ? "" : " " + method, purpose_ok ? "" : " purpose");
    return d;
}

// The certificate a login used names the caller better than the account
// does: key id, principals, serial, validity go to the PDP and the trail,
// but only from a certificate a CA in [ssh] signed. A user can have sshd
// accept a certificate of their own making (cert-authority in their
// authorized_keys): such a one is only recorded, as untrusted.
static void read_ssh_certificate(DecisionRecord& r, const TrustedCas& cas) {
    if (r.request.ssh_auth_info.empty()) return;
    auto info = parse_ssh_auth_info(r.request.ssh_auth_info);
    if (!info) {
        r.ssh_untrusted = {{"error", info.error().message}};
        return;
    }
    r.ssh_key = info->publickey_fingerprint();
    nlohmann::ordered_json untrusted = nlohmann::ordered_json::array();
    for (const SshAuthMethod& m : info->methods) {
        if (!m.certificate) continue;
        if (r.ssh_certificate.is_null() && cas.trusts(m.certificate->ca_fingerprint)) {
            r.ssh_certificate = to_json(*m.certificate);
        } else if (!cas.trusts(m.certificate->ca_fingerprint)) {
            untrusted.push_back(to_json(*m.certificate));
        }
    }
    if (!untrusted.empty()) r.ssh_untrusted = {{"certificates", untrusted}};
}

// sshd checks a certificate only at login: a session it let in must not
// outlive it. An allow's session_max is capped by the certificate's
// valid_before (when the account phase saw one: see README, SSH
// certificates); one already past is a deny.
static void cap_by_certificate(DecisionRecord& r) {
    Decision& d = r.decision;
    const auto& c = r.ssh_certificate;
    if (r.request.phase != Phase::Account || d.outcome != Outcome::Allow) return;
    if (!c.is_object() || !c.value("expires", false) || !c.contains("valid_before")) return;
    if (!c["valid_before"].is_number_unsigned()) return;
    auto until = std::chrono::system_clock::time_point(std::chrono::seconds(c["valid_before"].get<uint64_t>()));
    auto left = std::chrono::duration_cast<std::chrono::seconds>(until - r.at);
    if (left.count() <= 0) {
        d.outcome = Outcome::Deny;
        d.reason_user = "access denied: the SSH certificate has expired";
        d.reason_admin += "; the SSH certificate's valid_before has passed";
        return;
    }
    if (d.session_max && *d.session_max <= left) return;
    d.session_max = left;
    d.reason_admin += fmt::format("; session_max {} s: the SSH certificate expires then", left.count());
}

// What every decision starts from: an id, the time, who the user is, the
// posture, the certificate the login used.
DecisionRecord Engine::begin(const Request& req) const {
    DecisionRecord r;
    r.request_id = new_request_id();
    r.at = std::chrono::system_clock::now();
    r.request = req;
    r.identity = lookup_identity(req.user);
    if (posture_) r.signals = posture_->snapshot();
    read_ssh_certificate(r, cas_);
    r.policy_version = config_->version;
    r.report = reported(*config_, req);
    return r;
}

void Engine::finish(DecisionRecord& r, std::chrono::steady_clock::time_point start) {
    const Request& req = r.request;
    cap_by_certificate(r);
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (req.phase == Phase::DryRun) return;
    record(r);
    if (recent_ && req.phase == Phase::Account && r.decision.outcome == Outcome::Allow) {
        recent_->remember(req.pid, {r.request_id, req.user, req.pam_user, req.service, r.decision.session_max,
                                    r.decision.session_idle, r.decision.reevaluate, std::chrono::steady_clock::now(),
                                    req.mfa, req.purpose});
    }
}

DecisionRecord Engine::decide(const Request& req) {
    auto start = std::chrono::steady_clock::now();
    DecisionRecord r = begin(req);
    r.decision = decide_with(r);
    finish(r, start);
    return r;
}

std::vector<DecisionRecord> Engine::decide_all(const std::vector<Request>& reqs) {
    std::vector<DecisionRecord> out;
    if (!pdp_ || !pdp_->batches() || reqs.size() < 2) {
        for (const Request& q : reqs) out.push_back(decide(q));
        return out;
    }
    auto start = std::chrono::steady_clock::now();
    RemotePdp remote{*config_, *pdp_, allow_cache_, *last_answers_};
    struct Asking {
        size_t index;
        RuleMatch match;
        RemoteAsk ask;
    };
    std::vector<Asking> asking;
    for (const Request& q : reqs) {
        out.push_back(begin(q));
        DecisionRecord& r = out.back();
        RuleMatch m;
        if (auto d = decide_before_pdp(r, m)) {
            r.decision = *d;
            continue;
        }
        RemoteAsk ask = prepare_remote(r, m, remote);
        if (ask.decided) {
            r.decision = demand_step_up(*ask.decided, m.allow, r);
            continue;
        }
        asking.push_back({out.size() - 1, m, std::move(ask)});
    }
    if (!asking.empty()) {
        std::vector<PdpQuery> queries;
        std::vector<std::string> ids;
        for (const Asking& a : asking) queries.push_back(a.ask.query), ids.push_back(out[a.index].request_id);
        std::vector<PdpResult> results =
            pdp_->ask_batch(queries, ids, new_request_id(), pdp_deadline(reqs.front(), config_->pdp));
        for (size_t k = 0; k < asking.size(); ++k) {
            DecisionRecord& r = out[asking[k].index];
            const RuleMatch& m = asking[k].match;
            r.decision = demand_step_up(conclude_remote(r, m, remote, asking[k].ask, results[k]), m.allow, r);
        }
    }
    for (DecisionRecord& r : out) finish(r, start);
    return out;
}

DecisionRecord Engine::conclude(const Request& req, Decision d, std::string path) {
    DecisionRecord r;
    r.request_id = new_request_id();
    r.at = std::chrono::system_clock::now();
    r.request = req;
    r.identity = lookup_identity(req.user);
    if (posture_) r.signals = posture_->snapshot();
    r.policy_version = config_->version;
    r.path = std::move(path);
    r.decision = std::move(d);
    r.report = reported(*config_, req);
    record(r);
    return r;
}

bool Engine::append_to_trail(nlohmann::ordered_json record) {
    if (!audit_) return false;
    if (Status s = audit_->append(std::move(record)); !s) {
        log_event(Event::AuditWriteFailed, LogLevel::Error, "{}: {}", audit_->path(), s.error().message);
        vigil_health().audit_failed(s.error().message);
        count_audit_failure();
        return false;
    }
    vigil_health().audit_written();
    return true;
}

// A decision that cannot be written to the trail is not given: an allow
// becomes a deny, so no access goes unrecorded. With [agent] audit_failure =
// "continue" it stands, and the journal (always written) holds it; the trail
// counts it in its next "audit_gap" record.
void Engine::record(DecisionRecord& r) {
    log_debug("{} {} for {}: {} ({})", to_string(r.request.phase), r.request.service, r.request.user,
              recorded_outcome(r), r.decision.reason_admin);
    if (r.report && r.decision.outcome == Outcome::Deny) vigil_health().would_deny(r.at);
    Status s = audit_ ? audit_->append(to_json(r)) : Status(Ok{});
    if (s) {
        if (audit_) vigil_health().audit_written();
        count_decision(r.request.service, to_string(r.request.phase), recorded_outcome(r));
        journal_decision(r);
        return;
    }
    r.audit_error = s.error().message;
    log_event(Event::AuditWriteFailed, LogLevel::Error, "{}: {}", audit_->path(), r.audit_error);
    vigil_health().audit_failed(r.audit_error);
    count_audit_failure();
    bool deny = config_->agent.audit_failure == AuditFailure::Deny;
    if (deny && r.decision.outcome == Outcome::Allow && r.request.phase != Phase::CloseSession) {
        r.decision.outcome = Outcome::Deny;
        r.decision.reason_user = "access denied: the audit trail cannot be written";
        r.decision.reason_admin = "audit write failed: " + r.audit_error;
    }
    count_decision(r.request.service, to_string(r.request.phase), recorded_outcome(r));
    journal_decision(r);  // the outcome the user got, with why
}

}  // namespace vigil
