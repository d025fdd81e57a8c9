#include "engine.h"

#include <fmt/format.h>

#include <charconv>

#include "grant_table.h"
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

// [sudo] approval = "plugin", yet sudo opens a session for a command vigild
// was never asked about: the plugin is not in sudo.conf (or sudo-rs, which
// has none). PAM's account phase allowed only "may use sudo"; letting the
// session open would run a command no rule saw.
Decision no_command_decided() {
    Decision d;
    d.outcome = Outcome::Deny;
    d.reason_user = "this sudo's command was not checked";
    d.reason_admin =
        "[sudo] approval = \"plugin\", but no command decision by vigil_sudo.so came before this session: "
        "is the plugin missing from /etc/sudo.conf?";
    return d;
}

}  // namespace

// Only what the module enforces has a mode: the PAM phases that can deny.
// Closing a session, re-deciding a live one (report mode watches none) and
// a grant request (no PAM stack to leave it to) are always enforced.
static bool reported(const Config& c, const Request& q) {
    switch (q.phase) {
        case Phase::Account:
        case Phase::Command:
        case Phase::Auth:
        case Phase::OpenSession:
        case Phase::DryRun: return c.rollout.mode_for(q.service) == Mode::Report;
        default: return false;
    }
}

namespace {

// accounts_'s lookup: keyed by the uid as text, an IdentityCache key.
std::optional<Identity> account_by_uid_text(const std::string& uid) {
    uid_t u = 0;
    auto [end, ec] = std::from_chars(uid.data(), uid.data() + uid.size(), u);
    if (ec != std::errc() || end != uid.data() + uid.size()) return std::nullopt;
    return account_by_uid(u);
}

// Local files and the grant table are watched; a grant's row is served by
// NSS only until its expiry, so no answer is kept past the table's first.
// A table vigild cannot read keeps nothing.
IdentityCacheSettings identity_cache_settings(const Config& c) {
    IdentityCacheSettings s;
    s.watched = identity_sources(c.grants.table);
    s.max_age = std::chrono::duration_cast<std::chrono::milliseconds>(c.agent.identity_cache);
    s.next_change = [path = c.grants.table]() -> std::optional<std::chrono::system_clock::time_point> {
        auto table = read_grant_table(path);
        if (!table) return std::chrono::system_clock::time_point{};
        if (auto at = next_expiry(*table)) return std::chrono::system_clock::time_point(std::chrono::seconds(*at));
        return std::nullopt;
    };
    return s;
}

}  // namespace

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
      cas_(std::move(cas)),
      identities_(std::make_unique<IdentityCache>(identity_cache_settings(*config_))),
      accounts_(std::make_unique<IdentityCache>(identity_cache_settings(*config_), account_by_uid_text)) {}

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
    if (config_->sudo.approval == SudoApproval::Plugin && is_sudo_service(r.request.service) &&
        (!account || !account->command)) {
        return no_command_decided();
    }
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
    if (!pdp_) return m.allow ? allow_by(*m.allow, r.request) : default_deny(r.request);
    return std::nullopt;
}

Decision Engine::decide_first(DecisionRecord& r, RuleMatch& m) {
    if (auto d = decide_before_pdp(r, m)) return *d;
    RemotePdp remote{*config_, asking(*pdp_), allow_cache_, *last_answers_};
    return decide_remotely(r, m, remote);
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

// The trusted certificate's valid_before, when it expires (read_ssh_certificate).
static std::optional<std::chrono::system_clock::time_point> certificate_ends(const nlohmann::ordered_json& c) {
    if (!c.is_object() || !c.value("expires", false) || !c.contains("valid_before")) return std::nullopt;
    if (!c["valid_before"].is_number_unsigned()) return std::nullopt;
    return std::chrono::system_clock::time_point(std::chrono::seconds(c["valid_before"].get<uint64_t>()));
}

DecisionRecord Engine::stamp(const Request& req, CachedIdentity who) const {
    DecisionRecord r;
    r.request_id = new_request_id();
    r.at = std::chrono::system_clock::now();
    r.request = req;
    r.request.sudo_plugin = config_->sudo.approval == SudoApproval::Plugin && !req.sudo;
    r.identity = std::move(who.identity);
    r.identity_age = who.age;
    if (posture_) r.signals = posture_->snapshot();
    r.policy_version = config_->version;
    r.report = reported(*config_, req);
    return r;
}

DecisionRecord Engine::stamp(const Request& req) const { return stamp(req, identities_->lookup(req.user)); }

DecisionRecord Engine::begin(const Request& req) const { return begin(req, identities_->lookup(req.user)); }

DecisionRecord Engine::begin(const Request& req, CachedIdentity who) const {
    DecisionRecord r = stamp(req, std::move(who));
    read_ssh_certificate(r, cas_);
    return r;
}

void Engine::settle(DecisionRecord& r, const Rule* allow, TrailWrite write) {
    Combined c = combine(std::move(r.decision), facts_for(r, allow), config_->agent.audit_failure, std::move(write));
    r.decision = std::move(c.decision);
    r.audit_error = std::move(c.audit_error);
}

CombineFacts Engine::facts_for(const DecisionRecord& r, const Rule* allow) const {
    CombineFacts f;
    f.phase = r.request.phase;
    f.at = r.at;
    f.allow = allow;
    f.step_up_with_command =
        r.request.sudo_plugin && allow != nullptr && (!allow->commands.empty() || !allow->runas.empty());
    if (r.request.mfa) f.proven_method = r.request.mfa->method;
    f.purpose_given = !r.request.purpose.empty();
    f.totp_offered = config_->step_up.totp_configured;
    f.device_offered = config_->step_up.device_configured;
    f.certificate_ends = certificate_ends(r.ssh_certificate);
    return f;
}

void Engine::finish(DecisionRecord& r, const Rule* allow, std::chrono::steady_clock::time_point start) {
    const Request& req = r.request;
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    bool dry_run = req.phase == Phase::DryRun;
    TrailWrite write;
    if (!dry_run) write = [&](const Decision& d) { return write_record(r, d); };
    settle(r, allow, std::move(write));
    if (dry_run) return;
    report(r);
    // The session sudo opens next registers under this: its command too.
    bool account_like = req.phase == Phase::Account || req.phase == Phase::Command;
    if (recent_ && account_like && r.decision.outcome == Outcome::Allow) {
        bool command = req.phase == Phase::Command;
        recent_->remember(req.pid, {r.request_id, req.user, req.pam_user, req.service, r.decision.session_max,
                                    r.decision.session_idle, r.decision.reevaluate, std::chrono::steady_clock::now(),
                                    req.mfa, req.purpose, command, command ? req.command : std::vector<std::string>{},
                                    command ? req.sudo : std::nullopt, req.ssh_auth_info});
    }
}

DecisionRecord Engine::decide(const Request& req) {
    auto start = std::chrono::steady_clock::now();
    return decided(begin(req), start);
}

std::optional<CachedIdentity> Engine::identity_without_waiting(const Request& req) const {
    if (req.phase != Phase::Account) return std::nullopt;
    return identities_->cached(req.user);
}

AccountLookups Engine::account_lookups(bool wait) {
    auto found = [wait](IdentityCache& cache, const std::string& key) -> std::optional<Identity> {
        if (wait) return cache.lookup(key).identity;
        auto kept = cache.cached(key);
        return kept ? kept->identity : std::nullopt;
    };
    return {[this, found](uid_t uid) -> std::optional<std::string> {
                auto a = found(*accounts_, std::to_string(uid));
                return a ? std::optional<std::string>(a->name) : std::nullopt;
            },
            [this, found](const std::string& name) -> std::optional<uid_t> {
                auto a = found(*identities_, name);
                return a ? std::optional<uid_t>(a->uid) : std::nullopt;
            }};
}

std::variant<DecisionRecord, PendingDecision> Engine::decide_or_pend(const Request& req, CachedIdentity who) {
    auto start = std::chrono::steady_clock::now();
    DecisionRecord r = begin(req, std::move(who));
    RuleMatch m;
    std::optional<Decision> d = decide_before_pdp(r, m);
    RemoteAsk ask;
    if (!d) {
        RemotePdp remote{*config_, asking(*pdp_), allow_cache_, *last_answers_};
        ask = prepare_remote(r, m, remote);
        if (!ask.decided) return PendingDecision{std::move(r), m, std::move(ask), start};
        d = std::move(ask.decided);
    }
    r.decision = std::move(*d);
    finish(r, m.allow, start);
    return r;
}

DecisionRecord Engine::decide_pending(PendingDecision p) {
    RemotePdp remote{*config_, asking(*pdp_), allow_cache_, *last_answers_};
    p.record.decision = ask_and_conclude(p.record, p.match, remote, p.ask);
    finish(p.record, p.match.allow, p.start);
    return std::move(p.record);
}

DecisionRecord Engine::decided(DecisionRecord r, std::chrono::steady_clock::time_point start) {
    RuleMatch m;
    r.decision = decide_first(r, m);
    finish(r, m.allow, start);
    return r;
}

std::vector<DecisionRecord> Engine::decide_all(const std::vector<Request>& reqs) {
    std::vector<DecisionRecord> out;
    if (!pdp_ || !pdp_->batches() || reqs.size() < 2) {
        for (const Request& q : reqs) out.push_back(decide(q));
        return out;
    }
    auto start = std::chrono::steady_clock::now();
    RemotePdp remote{*config_, asking(*pdp_), allow_cache_, *last_answers_};
    struct Asking {
        size_t index;
        RuleMatch match;
        RemoteAsk ask;
    };
    std::vector<Asking> asking;
    std::vector<const Rule*> allows(reqs.size(), nullptr);
    for (const Request& q : reqs) {
        out.push_back(begin(q));
        DecisionRecord& r = out.back();
        RuleMatch m;
        if (auto d = decide_before_pdp(r, m)) {
            r.decision = *d;
            allows[out.size() - 1] = m.allow;
            continue;
        }
        RemoteAsk ask = prepare_remote(r, m, remote);
        if (ask.decided) {
            r.decision = *ask.decided;
            allows[out.size() - 1] = m.allow;
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
            r.decision = conclude_remote(r, m, remote, asking[k].ask, results[k]);
            allows[asking[k].index] = m.allow;
        }
    }
    for (size_t k = 0; k < out.size(); ++k) finish(out[k], allows[k], start);
    return out;
}

DecisionRecord Engine::conclude(const Request& req, Decision d, std::string path) {
    DecisionRecord r = stamp(req);
    r.path = std::move(path);
    r.decision = std::move(d);
    settle(r, nullptr, [&](const Decision& written) { return write_record(r, written); });
    report(r);
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

// Step 4's write (combine.h): the record with the decision as combined so
// far. A failure is logged and counted here; combine decides what it does
// to the answer.
Status Engine::write_record(DecisionRecord& r, const Decision& d) {
    r.decision = d;
    log_debug("{} {} for {}: {} ({})", to_string(r.request.phase), r.request.service, r.request.user,
              recorded_outcome(r), r.decision.reason_admin);
    if (r.report && r.decision.outcome == Outcome::Deny) vigil_health().would_deny(r.at);
    if (!audit_) return Ok{};
    // One buffer per thread: no allocation per record once it has grown.
    thread_local std::string text;
    text.clear();
    JsonWriter w(text);
    write_json(w, r);
    Status s = audit_->append_object(text);
    if (s) {
        vigil_health().audit_written();
        return s;
    }
    log_event(Event::AuditWriteFailed, LogLevel::Error, "{}: {}", audit_->path(), s.error().message);
    vigil_health().audit_failed(s.error().message);
    count_audit_failure();
    return s;
}

// The metrics and the journal get the outcome the user got, with why.
void Engine::report(const DecisionRecord& r) {
    count_decision(r.request.service, to_string(r.request.phase), recorded_outcome(r));
    journal_decision(r);
}

}  // namespace vigil
