#include "pdp_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "health.h"
#include "log.h"
#include "telemetry.h"

namespace vigil {
namespace {

PdpTransportSettings transport_settings(const PdpSettings& p) {
    PdpTransportSettings t;
    t.urls = p.urls;
    t.ca_file = p.ca_file;
    t.client_cert = p.client_cert;
    t.client_key = p.client_key;
    t.bearer_token_file = p.bearer_token_file;
    t.pinned_pubkey = p.pinned_pubkey;
    t.deadline = p.timeout;
    t.connect_timeout = std::min(p.timeout, std::chrono::milliseconds(500));
    t.breaker_failures = p.breaker_failures;
    t.breaker_cooldown = p.breaker_cooldown;
    t.max_connections = static_cast<size_t>(p.max_connections);
    return t;
}

PdpResult failed(PdpResult r, std::string kind, std::string why) {
    r.status = PdpStatus::Failed;
    r.error_kind = std::move(kind);
    r.error = std::move(why);
    return r;
}

// The start of a refusal's body, for the admin: Cerbos says why there
// ({"code":3,"message":"validation error: ..."}).
constexpr size_t kRefusalExcerpt = 300;

// No usable answer (Failed), or a 4xx: the PDP's answer, and it is no.
PdpResult without_answer(PdpResult r, const HttpError& e) {
    if (!is_refusal(e)) return failed(std::move(r), std::string(to_string(e.kind)), e.message);
    r.status = PdpStatus::Declined;
    r.allow = false;
    r.error_kind = std::string(to_string(e.kind));
    r.error = e.message;
    if (!e.body.empty()) {
        std::string excerpt = e.body.substr(0, kRefusalExcerpt);
        r.error += ": " + excerpt + (e.body.size() > excerpt.size() ? "..." : "");
    }
    return r;
}

}  // namespace

Result<std::unique_ptr<PdpClient>> PdpClient::create(const PdpSettings& settings) {
    auto transport = PdpTransport::create(transport_settings(settings));
    if (!transport) return transport.error();
    return std::unique_ptr<PdpClient>(new PdpClient(settings, std::move(*transport)));
}

PdpClient::PdpClient(PdpSettings settings, std::unique_ptr<PdpTransport> transport)
    : settings_(std::move(settings)), transport_(std::move(transport)) {
    if (batches() && settings_.batch) {
        // As many calls out as there are connections: a question waits for a
        // call, never for a connection.
        batched_ = std::make_unique<BatchedCalls>(static_cast<size_t>(settings_.max_connections), kMaxBatch,
                                                  [this](const auto& qs, auto left) { return send(qs, left); });
    }
}

PdpCall PdpClient::call_for(const PdpQuery& query, const std::string& request_id) const {
    switch (settings_.protocol) {
        case PdpProtocol::Cerbos: return cerbos_request(query, request_id);
        case PdpProtocol::Opa: return opa_request(query, settings_.opa_path);
        default: return authzen_request(query, settings_.authzen_profile, request_id);
    }
}

Result<PdpAnswer> PdpClient::parse(const std::string& body, const PdpQuery& query) const {
    switch (settings_.protocol) {
        case PdpProtocol::Cerbos: return cerbos_response(body, query);
        case PdpProtocol::Opa: return opa_response(body);
        default: return authzen_response(body, settings_.authzen_profile, query);
    }
}

// Counted, timed and remembered for vigilctl status; the first failure
// after answers (and the first answer after failures) is logged.
PdpResult PdpClient::ask(const PdpQuery& query, const std::string& key, const std::string& request_id,
                         std::chrono::milliseconds deadline) {
    auto start = std::chrono::steady_clock::now();
    PdpResult r = shared_.ask(key, request_id, deadline, [&](std::chrono::milliseconds left) {
        return batched_ ? batched_->ask(query, request_id, left) : ask_once(query, request_id, left);
    });
    // Counted, and the PDP's health noted, by the call that was made.
    if (!r.shared_with.empty()) return r;
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    bool failed = r.status == PdpStatus::Failed;
    // A refusal (Declined) is counted as an error too: it usually means our
    // request or credentials are wrong.
    bool error = failed || r.status == PdpStatus::Declined;
    observe_pdp_call(to_string(settings_.protocol), took, error ? r.error_kind : "");
    // A request whose budget was spent before any endpoint could be asked
    // says nothing of the PDP: under overload, counting it would flip the
    // PDP's state (and log it) on every such request.
    bool asked = !r.url.empty() || !r.failed.empty();
    if (failed && asked && vigil_health().pdp_failed(r.error_kind, r.error)) {
        log_event(Event::PdpUnreachable, LogLevel::Warning,
                  "pdp: no usable answer ({}: {}); requests fall back ([pdp] fallback {})", r.error_kind, r.error,
                  to_string(settings_.fallback));
    }
    if (!failed && vigil_health().pdp_answered(r.obligations.policy_version)) {
        log_event(Event::PdpRecovered, LogLevel::Info, "pdp: answering again ({})", r.url);
    }
    return r;
}

PdpResult PdpClient::ask_once(const PdpQuery& query, const std::string& request_id,
                              std::chrono::milliseconds deadline) {
    PdpResult r;
    PdpCall call = call_for(query, request_id);
    r.request = call.body;
    if (deadline.count() <= 0) return failed(std::move(r), "timeout", "no time left in the PAM module's budget");
    std::string body = call.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // Parsed inside the transport's accept check, so that an endpoint that
    // answers garbage fails over to the next like one that is down.
    std::optional<PdpAnswer> answer;
    auto accept = [&](const HttpResponse& resp) -> std::optional<std::string> {
        auto a = parse(resp.body, query);
        if (!a) return a.error().message;
        answer = std::move(*a);
        return std::nullopt;
    };
    PdpExchange x = transport_->post(call.path, body, deadline, request_id, accept);
    r.url = x.url;
    r.failed = x.failed;
    if (!x.result) {
        const HttpError& e = x.result.error();
        if (!e.body.empty()) r.response = e.body;
        return without_answer(std::move(r), e);
    }
    r.latency = x.result->elapsed;
    r.response = x.result->body;
    if (!answer) return failed(std::move(r), "malformed", "the PDP's answer could not be read");
    return answered(std::move(r), *answer);
}

// One question alone, as without batches; several as one AuthZEN batch.
std::vector<PdpResult> PdpClient::send(const std::vector<BatchedCalls::Question>& questions,
                                       std::chrono::milliseconds deadline) {
    if (questions.size() == 1) return {ask_once(*questions[0].query, *questions[0].request_id, deadline)};
    std::vector<PdpQuery> queries;
    std::vector<std::string> ids;
    for (const BatchedCalls::Question& q : questions) {
        queries.push_back(*q.query);
        ids.push_back(*q.request_id);
    }
    return ask_one_batch(queries, ids, "batch-" + ids.front(), deadline);
}

// A well-formed answer: its obligations decide whether it can be carried out.
PdpResult PdpClient::answered(PdpResult r, const PdpAnswer& answer) const {
    auto ob = parse_obligations(answer.context, settings_.ignore_keys);
    r.allow = answer.allow;
    if (!ob) {
        r.status = PdpStatus::Refused;
        r.error_kind = "obligation";
        r.error = ob.error().message;
        return r;
    }
    r.obligations = std::move(*ob);
    if (r.obligations.policy_version.empty()) r.obligations.policy_version = answer.policy_version;
    r.status = PdpStatus::Answered;
    return r;
}

std::vector<PdpResult> PdpClient::ask_batch(const std::vector<PdpQuery>& queries,
                                            const std::vector<std::string>& request_ids, const std::string& batch_id,
                                            std::chrono::milliseconds deadline) {
    std::vector<PdpResult> out(queries.size());
    if (!batches()) {
        for (size_t i = 0; i < queries.size(); ++i)
            out[i] = ask(queries[i], question_key(queries[i]), request_ids.at(i), deadline);
        return out;
    }
    std::vector<std::vector<size_t>> rounds = rounds_by_subject(queries);
    for (size_t r = 0; r < rounds.size(); ++r) {
        std::vector<PdpQuery> qs;
        std::vector<std::string> ids;
        for (size_t i : rounds[r]) qs.push_back(queries[i]), ids.push_back(request_ids.at(i));
        std::string id = rounds.size() == 1 ? batch_id : fmt::format("{}-{}", batch_id, r + 1);
        std::vector<PdpResult> got = ask_one_batch(qs, ids, id, deadline);
        for (size_t k = 0; k < rounds[r].size(); ++k) out[rounds[r][k]] = std::move(got[k]);
    }
    return out;
}

// Cerbos merges the evaluations of a batch that share subject and resource
// and answers all of them from the first one's properties (tests/pdp/SHAPES.md,
// example 19): a session without MFA would be judged by one with it. The
// resource is this host for every query, so no batch may hold one subject
// twice: the queries are dealt into rounds, each subject at most once per round.
// Cerbos also refuses (400) a batch of more than 50 evaluations, and a
// refusal denies every query in it: a round holds at most kMaxBatch.
std::vector<std::vector<size_t>> PdpClient::rounds_by_subject(const std::vector<PdpQuery>& queries) {
    std::vector<std::vector<size_t>> rounds;
    std::vector<std::set<std::string>> seen;
    for (size_t i = 0; i < queries.size(); ++i) {
        std::string subject = subject_key(queries[i]);
        size_t r = 0;
        while (r < rounds.size() && (seen[r].count(subject) || rounds[r].size() >= kMaxBatch)) ++r;
        if (r == rounds.size()) rounds.emplace_back(), seen.emplace_back();
        rounds[r].push_back(i);
        seen[r].insert(subject);
    }
    return rounds;
}

std::vector<PdpResult> PdpClient::ask_one_batch(const std::vector<PdpQuery>& queries,
                                                const std::vector<std::string>& request_ids,
                                                const std::string& batch_id, std::chrono::milliseconds deadline) {
    std::vector<PdpResult> out;
    PdpCall call = authzen_batch_request(queries, settings_.authzen_profile, request_ids, batch_id);
    std::string body = call.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::optional<std::vector<Result<PdpAnswer>>> answers;
    auto accept = [&](const HttpResponse& resp) -> std::optional<std::string> {
        auto a = authzen_batch_response(resp.body, settings_.authzen_profile, queries);
        if (!a) return a.error().message;
        answers = std::move(*a);
        return std::nullopt;
    };
    PdpExchange x = transport_->post(call.path, body, deadline, batch_id, accept);
    for (size_t i = 0; i < queries.size(); ++i) {
        PdpResult r;
        r.batch_id = batch_id;
        r.batch_size = queries.size();
        r.request = call.body["evaluations"][i];
        r.url = x.url;
        r.failed = x.failed;
        if (!x.result) {
            out.push_back(without_answer(std::move(r), x.result.error()));
            continue;
        }
        r.latency = x.result->elapsed;
        if (!answers || !(*answers)[i]) {
            std::string why = answers ? (*answers)[i].error().message : "the PDP's answer could not be read";
            out.push_back(failed(std::move(r), "malformed", why));
            continue;
        }
        r.response = (*answers)[i]->context.dump();
        out.push_back(answered(std::move(r), *(*answers)[i]));
    }
    return out;
}

}  // namespace vigil
