#include "signal_store.h"

namespace vigil::posture {

void SignalStore::update(Signal s) {
    std::vector<Listener> to_call;
    std::string before;
    {
        std::lock_guard lock(mu_);
        auto it = signals_.find(s.name);
        before = it == signals_.end() ? "" : it->second.value;
        if (before != s.value) to_call = listeners_;
        signals_[s.name] = s;
    }
    // Outside the lock: a listener may take a snapshot.
    for (auto& l : to_call) l(s, before);
}

void SignalStore::forget(const std::string& name) {
    std::vector<Listener> to_call;
    Signal gone;
    std::string before;
    {
        std::lock_guard lock(mu_);
        auto it = signals_.find(name);
        if (it == signals_.end()) return;
        before = it->second.value;
        gone = it->second;
        gone.value.clear();
        signals_.erase(it);
        to_call = listeners_;
    }
    for (auto& l : to_call) l(gone, before);
}

Snapshot SignalStore::snapshot() const {
    std::lock_guard lock(mu_);
    Snapshot out;
    out.reserve(signals_.size());
    for (const auto& [name, s] : signals_) out.push_back(s);
    return out;
}

void SignalStore::on_change(Listener l) {
    std::lock_guard lock(mu_);
    listeners_.push_back(std::move(l));
}

}  // namespace vigil::posture
