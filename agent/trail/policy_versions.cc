#include "policy_versions.h"

#include <algorithm>

namespace vigil {

bool PolicyVersions::is_new(const std::string& version, Clock::time_point now) {
    if (version.empty()) return false;
    // The latest version stays however old: a quiet hour is no new policy.
    std::erase_if(seen_, [&](const auto& v) { return v.first != latest_ && now - v.second > kWindow; });
    bool first = latest_.empty();
    bool known = seen_.count(version) > 0;
    latest_ = version;
    if (!known && seen_.size() >= kMaxKept) {
        // A PDP naming a new version per answer: keep the newest ones.
        auto oldest = std::min_element(seen_.begin(), seen_.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
        seen_.erase(oldest);
    }
    seen_[version] = now;
    return !first && !known;
}

}  // namespace vigil
