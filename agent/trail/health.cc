#include "health.h"

namespace vigil {

bool Health::pdp_answered(const std::string& policy_version) {
    std::function<void(const std::string&)> tell;
    bool recovered = false;
    {
        std::lock_guard lock(mu_);
        recovered = s_.pdp_failing();
        s_.pdp_last_success = std::chrono::system_clock::now();
        if (!policy_version.empty()) s_.pdp_policy_version = policy_version;
        if (versions_.is_new(policy_version, std::chrono::steady_clock::now())) tell = policy_listener_;
    }
    if (tell) tell(policy_version);
    return recovered;
}

void Health::on_pdp_policy_change(std::function<void(const std::string& version)> listener) {
    std::lock_guard lock(mu_);
    policy_listener_ = std::move(listener);
}

bool Health::pdp_failed(const std::string& kind, const std::string& message) {
    std::lock_guard lock(mu_);
    bool was_failing = s_.pdp_failing();
    s_.pdp_last_failure = std::chrono::system_clock::now();
    s_.pdp_last_error = kind + ": " + message;
    return !was_failing;
}

void Health::break_glass_used(BreakGlassNote note) {
    std::lock_guard lock(mu_);
    ++s_.break_glass_total;
    s_.break_glass.push_back(std::move(note));
    if (s_.break_glass.size() > kBreakGlassKept) s_.break_glass.erase(s_.break_glass.begin());
}

namespace {
int64_t minute_of(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count();
}
}  // namespace

void Health::would_deny(std::chrono::system_clock::time_point at) {
    int64_t m = minute_of(at);
    size_t i = static_cast<size_t>(((m % 60) + 60) % 60);
    std::lock_guard lock(mu_);
    if (minute_[i] != m) minute_[i] = m, would_deny_[i] = 0;
    ++would_deny_[i];
}

void Health::audit_written() {
    std::lock_guard lock(mu_);
    s_.audit_failing = false;
}

bool Health::audit_failed(const std::string& message) {
    std::lock_guard lock(mu_);
    bool was_failing = s_.audit_failing;
    s_.audit_failing = true;
    s_.audit_last_failure = std::chrono::system_clock::now();
    s_.audit_last_error = message;
    return !was_failing;
}

void Health::metrics_written(const std::string& path, const std::string& error) {
    std::lock_guard lock(mu_);
    s_.metrics_textfile = path;
    s_.metrics_error = error;
}

HealthSnapshot Health::snapshot() const { return snapshot_at(std::chrono::system_clock::now()); }

HealthSnapshot Health::snapshot_at(std::chrono::system_clock::time_point now) const {
    int64_t m = minute_of(now);
    std::lock_guard lock(mu_);
    HealthSnapshot out = s_;
    for (size_t i = 0; i < minute_.size(); ++i) {
        if (minute_[i] > m - 60 && minute_[i] <= m) out.would_deny_last_hour += would_deny_[i];
    }
    return out;
}

Health& vigil_health() {
    static Health* h = new Health;  // never destroyed: workers may report during exit
    return *h;
}

}  // namespace vigil
