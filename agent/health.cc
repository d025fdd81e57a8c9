#include "health.h"

namespace vigil {

bool Health::pdp_answered(const std::string& policy_version) {
    std::lock_guard lock(mu_);
    bool recovered = s_.pdp_failing();
    s_.pdp_last_success = std::chrono::system_clock::now();
    if (!policy_version.empty()) s_.pdp_policy_version = policy_version;
    return recovered;
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

HealthSnapshot Health::snapshot() const {
    std::lock_guard lock(mu_);
    return s_;
}

Health& vigil_health() {
    static Health* h = new Health;  // never destroyed: workers may report during exit
    return *h;
}

}  // namespace vigil
