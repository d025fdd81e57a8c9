// Remembered PDP answers, for two different jobs:
//  - the positive cache ([pdp] cache_allow_seconds): an allow for exactly the
//    same question is reused for a short while, so a burst of logins costs
//    one PDP round trip;
//  - the last answer to each question, which fallback = "cached" reuses
//    when the PDP cannot answer, if it is younger than cache_max_age.
// Keys are question_key(query) (pdp_query.h): the whole question but its
// time and request id. Both are bounded; oldest entries go first.
#ifndef VIGIL_PDP_PDP_CACHE_H
#define VIGIL_PDP_PDP_CACHE_H

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "obligations.h"

namespace vigil {

struct CachedAnswer {
    bool allow = false;
    Obligations obligations;
    std::string request_id;  // the decision that asked the PDP
    std::chrono::steady_clock::time_point at;
};

class PdpCache {
public:
    explicit PdpCache(size_t capacity = 4096) : capacity_(capacity) {}

    void remember(const std::string& key, CachedAnswer answer);
    // The entry for key if younger than max_age.
    std::optional<CachedAnswer> find(const std::string& key, std::chrono::seconds max_age);
    void clear();

private:
    using Order = std::list<std::string>;
    struct Entry {
        CachedAnswer answer;
        Order::iterator pos;
    };
    size_t capacity_;
    std::mutex mu_;
    Order order_;  // oldest first
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vigil

#endif
