#include "obligations.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace vigil {
namespace {

constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;
constexpr size_t kMaxReason = 1024;

// Recorded, never enforced: explanations and metadata PDPs commonly send.
constexpr std::array<std::string_view, 5> kInformational = {"reason", "metadata", "environment", "error", "policy_id"};

Result<std::chrono::seconds> seconds(const nlohmann::json& v, std::string_view key) {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > kMaxSeconds) {
        return err(fmt::format("obligation {} must be a whole number of seconds from 1 to {}", key, kMaxSeconds));
    }
    return std::chrono::seconds(v.get<int64_t>());
}

// AuthZEN allows a reason as a string or as {"<status>": "text"}.
Result<std::string> text(const nlohmann::json& v, std::string_view key) {
    std::string out;
    if (v.is_string()) {
        out = v.get<std::string>();
    } else if (v.is_object() && v.size() == 1 && v.begin()->is_string()) {
        out = v.begin()->get<std::string>();
    } else {
        return err(fmt::format("{} must be a string", key));
    }
    if (out.size() > kMaxReason) out.resize(kMaxReason);
    return out;
}

Result<StepUp> step_up(const nlohmann::json& v) {
    if (v.is_string()) return StepUp{v.get<std::string>(), ""};
    if (!v.is_object() || !v.contains("method") || !v["method"].is_string()) {
        return err("obligation step_up must be {\"method\": \"...\"}");
    }
    StepUp s{v["method"].get<std::string>(), ""};
    if (auto p = v.find("prompt"); p != v.end() && p->is_string()) s.prompt = p->get<std::string>();
    return s;
}

Status apply(const std::string& key, const nlohmann::json& v, Obligations& ob) {
    auto set_seconds = [&](std::optional<std::chrono::seconds>& slot) -> Status {
        auto s = seconds(v, key);
        if (!s) return s.error();
        slot = *s;
        return Ok{};
    };
    auto set_text = [&](std::string& slot) -> Status {
        auto t = text(v, key);
        if (!t) return t.error();
        slot = *t;
        return Ok{};
    };
    if (key == "session_max_seconds") return set_seconds(ob.session_max);
    if (key == "session_idle_seconds") return set_seconds(ob.session_idle);
    if (key == "reevaluate_seconds") return set_seconds(ob.reevaluate);
    if (key == "reason_user") return set_text(ob.reason_user);
    if (key == "reason_admin") return set_text(ob.reason_admin);
    if (key == "policy_version") return set_text(ob.policy_version);
    if (key == "purpose") {
        if (!v.is_boolean()) return err("obligation purpose must be true or false");
        ob.purpose = v.get<bool>();
        return Ok{};
    }
    if (key == "step_up") {
        auto s = step_up(v);
        if (!s) return s.error();
        ob.step_up = *s;
        return Ok{};
    }
    return err(fmt::format("the PDP asked for obligation \"{}\", which this agent cannot carry out", key));
}

}  // namespace

Result<Obligations> parse_obligations(const nlohmann::json& context, const std::vector<std::string>& ignored) {
    Obligations ob;
    if (context.is_null()) return ob;
    if (!context.is_object()) return err("the PDP's context is not an object");
    for (auto& [key, value] : context.items()) {
        bool info = std::find(kInformational.begin(), kInformational.end(), key) != kInformational.end() ||
                    std::find(ignored.begin(), ignored.end(), key) != ignored.end();
        if (info) continue;
        if (auto s = apply(key, value, ob); !s) return s.error();
    }
    return ob;
}

}  // namespace vigil
