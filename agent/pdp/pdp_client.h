// Asks the configured remote PDP about one request and says exactly what
// happened: the answer and its obligations, or why there is none.
// Identical questions asked at once share one call (shared_calls.h); with
// AuthZEN, different ones that wait for a free call go out together as one
// batch (batched_calls.h).
//
//   auto pdp = PdpClient::create(config.pdp);        // Result<unique_ptr<PdpClient>>
//   PdpResult r = (*pdp)->ask(query, question_key(query), request_id, 800ms);
//   if (r.status == PdpStatus::Failed) apply_fallback(r.error);
#ifndef VIGIL_PDP_PDP_CLIENT_H
#define VIGIL_PDP_PDP_CLIENT_H

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batched_calls.h"
#include "config.h"
#include "obligations.h"
#include "pdp_protocols.h"
#include "pdp_query.h"
#include "pdp_result.h"
#include "pdp_transport.h"
#include "result.h"
#include "shared_calls.h"

namespace vigil {

class PdpClient {
public:
    static Result<std::unique_ptr<PdpClient>> create(const PdpSettings& settings);

    // key: question_key(query), which the caller has already worked out
    // (the caches want it too); identical keys asked at once share a call.
    PdpResult ask(const PdpQuery& query, const std::string& key, const std::string& request_id,
                  std::chrono::milliseconds deadline);
    // Many queries at once: one POST /access/v1/evaluations with AuthZEN
    // (request_ids[i] names queries[i]; batch_id the whole request), one
    // result per query in order. A transport failure fails every query
    // alike. Other protocols have no batch: each query is asked on its own.
    std::vector<PdpResult> ask_batch(const std::vector<PdpQuery>& queries, const std::vector<std::string>& request_ids,
                                     const std::string& batch_id, std::chrono::milliseconds deadline);
    bool batches() const { return settings_.protocol == PdpProtocol::AuthZen; }
    // The indices of queries dealt into rounds that hold no subject twice
    // and at most kMaxBatch queries: ask_batch sends one request per round.
    static std::vector<std::vector<size_t>> rounds_by_subject(const std::vector<PdpQuery>& queries);
    static constexpr size_t kMaxBatch = 50;  // Cerbos' default limit; more is a 400

    const PdpSettings& settings() const { return settings_; }
    // For vigilctl status: the endpoints and their circuit breakers; the
    // batcher's counts, when questions are batched.
    const PdpTransport& transport() const { return *transport_; }
    std::optional<BatchedCalls::Counts> batch_counts() const {
        return batched_ ? std::optional(batched_->counts()) : std::nullopt;
    }

private:
    PdpClient(PdpSettings settings, std::unique_ptr<PdpTransport> transport);
    PdpResult ask_once(const PdpQuery& query, const std::string& request_id, std::chrono::milliseconds deadline);
    std::vector<PdpResult> send(const std::vector<BatchedCalls::Question>& questions,
                                std::chrono::milliseconds deadline);
    PdpCall call_for(const PdpQuery& query, const std::string& request_id) const;
    Result<PdpAnswer> parse(const std::string& body, const PdpQuery& query) const;
    PdpResult answered(PdpResult r, const PdpAnswer& answer) const;
    std::vector<PdpResult> ask_one_batch(const std::vector<PdpQuery>& queries,
                                         const std::vector<std::string>& request_ids, const std::string& batch_id,
                                         std::chrono::milliseconds deadline);

    PdpSettings settings_;
    std::unique_ptr<PdpTransport> transport_;
    SharedCalls shared_;
    std::unique_ptr<BatchedCalls> batched_;  // AuthZEN with [pdp] batch = true
};

}  // namespace vigil

#endif
