#include "stale_signals.h"

namespace vigil {

bool is_stale(const posture::Signal& s, std::chrono::system_clock::time_point now, std::chrono::seconds fallback) {
    auto max_age = s.max_age.count() > 0 ? s.max_age : fallback;
    return now - s.observed_at > max_age;
}

std::vector<std::string> stale_signals(const posture::Snapshot& snapshot, std::chrono::system_clock::time_point now,
                                       std::chrono::seconds fallback) {
    std::vector<std::string> out;
    for (const posture::Signal& s : snapshot) {
        if (is_stale(s, now, fallback)) out.push_back(s.name);
    }
    return out;
}

std::vector<std::string> StaleSignals::update(const posture::Snapshot& snapshot,
                                              std::chrono::system_clock::time_point now,
                                              std::chrono::seconds fallback) {
    std::vector<std::string> now_stale = stale_signals(snapshot, now, fallback), fresh;
    for (const std::string& name : now_stale) {
        if (!stale_.count(name)) fresh.push_back(name);
    }
    stale_ = {now_stale.begin(), now_stale.end()};
    return fresh;
}

}  // namespace vigil
