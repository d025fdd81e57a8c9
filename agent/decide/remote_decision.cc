#include "remote_decision.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine.h"
#include "pdp_query.h"

namespace vigil {

using std::chrono::milliseconds;

PdpAsk asking(PdpClient& client) {
    return [&client](const PdpQuery& query, const std::string& key, const std::string& request_id,
                     milliseconds deadline) { return client.ask(query, key, request_id, deadline); };
}

milliseconds pdp_deadline(const Request& q, const PdpSettings& p) {
    if (q.budget.count() == 0) return p.timeout;
    auto spent = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - q.received);
    return std::min(p.timeout, q.budget - spent - kBudgetMargin);
}

namespace {

std::optional<std::chrono::seconds> shorter(std::optional<std::chrono::seconds> a,
                                            std::optional<std::chrono::seconds> b) {
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

// A local allow rule's limits still cap what the PDP grants.
void set_limits(Decision& d, const Obligations& ob, const Rule* local_allow) {
    d.session_max = shorter(ob.session_max, local_allow ? local_allow->session_max : std::nullopt);
    d.session_idle = shorter(ob.session_idle, local_allow ? local_allow->session_idle : std::nullopt);
}

Decision from_answer(bool allow, const Obligations& ob, const Rule* local_allow, const std::string& source) {
    Decision d;
    d.rule = local_allow ? local_allow->name : "";
    d.reevaluate = ob.reevaluate;
    d.reason_admin =
        ob.reason_admin.empty() ? fmt::format("{} answered {}", source, allow ? "allow" : "deny") : ob.reason_admin;
    if (ob.step_up || (allow && ob.purpose)) {
        d.outcome = Outcome::StepUp;
        set_limits(d, ob, local_allow);
        d.step_up_method = ob.step_up ? ob.step_up->method : "";
        if (d.step_up_method == "device_flow") d.step_up_method = "device";
        if (d.step_up_method == "purpose") d.step_up_method = "", d.needs_purpose = true;
        if (ob.purpose) d.needs_purpose = true;
        std::string prompt = ob.step_up ? ob.step_up->prompt : "";
        d.reason_user = prompt.empty() ? "this request needs a second factor" : prompt;
        return d;
    }
    d.outcome = allow ? Outcome::Allow : Outcome::Deny;
    d.reason_user = ob.reason_user.empty() && !allow ? "access denied by policy" : ob.reason_user;
    if (allow) set_limits(d, ob, local_allow);
    return d;
}

Decision refused(const PdpResult& res) {
    Decision d;
    d.reason_user = "access denied: the policy asks for something this host cannot enforce";
    d.reason_admin = res.error;
    return d;
}

// The PDP would not decide the request (a 4xx, e.g. 400 bad request, 401
// bad token, 404 wrong path): that is its answer, and it is no. A fallback
// would let a request the PDP refused, or one shaped to be refused, be
// decided by something else.
Decision declined(const PdpResult& res) {
    Decision d;
    d.reason_user = "access denied: the policy service refused the request";
    d.reason_admin = fmt::format("the PDP refused the request ({}); denied, no fallback", res.error);
    return d;
}

// The PDP's latest word on this question, for fallback = "cached": a deny
// (or a refusal) replaces an earlier allow. The positive cache keeps only
// plain allows.
void remember(const DecisionRecord& r, RemotePdp& pdp, const RemoteAsk& ask, const PdpResult& res, const Decision& d) {
    bool answered = res.status == PdpStatus::Answered;
    Obligations ob = answered ? res.obligations : Obligations{};
    if (!answered) ob.reason_admin = d.reason_admin;
    CachedAnswer c{answered && res.allow, ob, r.request_id, std::chrono::steady_clock::now()};
    const std::string& key = ask.key;
    // An answer given because of a second factor or a reason must not
    // stand in, as the "cached" fallback, for a request without them.
    bool proven = r.request.mfa || !r.request.purpose.empty();
    if (!proven) pdp.last_answers.remember(key, c);
    if (ask.use_cache && c.allow && !ob.step_up && !ob.purpose) pdp.allow_cache.remember(key, c);
}

nlohmann::ordered_json pdp_note(const PdpResult& res, const PdpSettings& p, bool dry_run) {
    nlohmann::ordered_json j = {{"protocol", to_string(p.protocol)}, {"url", res.url}};
    if (res.latency.count()) j["latency_us"] = res.latency.count();
    if (!res.batch_id.empty()) j["batch"] = {{"id", res.batch_id}, {"size", res.batch_size}};
    if (!res.shared_with.empty()) j["shared_with"] = res.shared_with;
    if (!res.obligations.policy_version.empty()) j["policy_version"] = res.obligations.policy_version;
    if (!res.error.empty()) j["error"] = res.error, j["error_kind"] = res.error_kind;
    if (!res.failed.empty()) {
        auto& f = j["failed"] = nlohmann::ordered_json::array();
        for (const auto& a : res.failed)
            f.push_back({{"url", a.url}, {"kind", to_string(a.kind)}, {"error", a.message}});
    }
    if (dry_run) {
        j["request"] = res.request;
        auto parsed = nlohmann::ordered_json::parse(res.response, nullptr, false);
        j["response"] = parsed.is_discarded() ? nlohmann::ordered_json(res.response) : parsed;
    }
    return j;
}

Decision fallback(DecisionRecord& r, const RuleMatch& m, RemotePdp& pdp, const RemoteAsk& ask, const PdpResult& res) {
    Fallback fb = m.allow && m.allow->fallback ? *m.allow->fallback : pdp.config.pdp.fallback;
    r.path = std::string("fallback:") + to_string(fb);
    std::string why = fmt::format("PDP unavailable ({}: {})", res.error_kind, res.error);
    if (fb == Fallback::Local && m.allow) {
        Decision d = allow_by(*m.allow, r.request);
        d.reason_admin = why + "; " + d.reason_admin;
        return d;
    }
    if (fb == Fallback::Cached) {
        if (auto c = pdp.last_answers.find(ask.key, pdp.config.pdp.cache_max_age)) {
            Decision d =
                from_answer(c->allow, c->obligations, m.allow, "the PDP (cached answer " + c->request_id + ")");
            d.reason_admin = why + "; " + d.reason_admin;
            return d;
        }
    }
    Decision d;
    d.rule = m.allow ? m.allow->name : "";
    d.reason_user = "access check unavailable, request denied";
    d.reason_admin = fmt::format("{}; fallback {} denies{}", why, to_string(fb),
                                 fb == Fallback::Deny ? "" : " (nothing to fall back on)");
    return d;
}

bool cacheable(const Request& q, const PdpSettings& p) {
    return p.cache_allow.count() > 0 && q.phase != Phase::DryRun &&
           std::find(p.cache_services.begin(), p.cache_services.end(), q.service) != p.cache_services.end();
}

}  // namespace

RemoteAsk prepare_remote(DecisionRecord& r, const RuleMatch& m, RemotePdp& pdp) {
    RemoteAsk ask;
    if (m.allow && !m.allow->ask_pdp) {
        r.path = "local";
        ask.decided = allow_by(*m.allow, r.request);
        return ask;
    }
    const PdpSettings& settings = pdp.config.pdp;
    ask.query = build_pdp_query(r, pdp.config);
    // Once, from the finished query: every fact in it, nothing added after.
    ask.key = question_key(ask.query);
    ask.use_cache = cacheable(r.request, settings);
    if (ask.use_cache) {
        if (auto c = pdp.allow_cache.find(ask.key, settings.cache_allow)) {
            r.path = "cache";
            ask.decided = from_answer(true, c->obligations, m.allow, "the PDP (cached allow " + c->request_id + ")");
        }
    }
    return ask;
}

Decision decide_remotely(DecisionRecord& r, const RuleMatch& m, RemotePdp& pdp) {
    RemoteAsk ask = prepare_remote(r, m, pdp);
    if (ask.decided) return *ask.decided;
    return ask_and_conclude(r, m, pdp, ask);
}

Decision ask_and_conclude(DecisionRecord& r, const RuleMatch& m, RemotePdp& pdp, const RemoteAsk& ask) {
    PdpResult res = pdp.ask(ask.query, ask.key, r.request_id, pdp_deadline(r.request, pdp.config.pdp));
    return conclude_remote(r, m, pdp, ask, res);
}

Decision conclude_remote(DecisionRecord& r, const RuleMatch& m, RemotePdp& pdp, const RemoteAsk& ask,
                         const PdpResult& res) {
    const PdpSettings& settings = pdp.config.pdp;
    bool dry_run = r.request.phase == Phase::DryRun;
    r.pdp = pdp_note(res, settings, dry_run);
    if (res.status == PdpStatus::Failed) return fallback(r, m, pdp, ask, res);
    r.path = "pdp";
    Decision d = res.status == PdpStatus::Refused    ? refused(res)
                 : res.status == PdpStatus::Declined ? declined(res)
                                                     : from_answer(res.allow, res.obligations, m.allow, "the PDP");
    if (!dry_run) remember(r, pdp, ask, res, d);
    return d;
}

}  // namespace vigil
