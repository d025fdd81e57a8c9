#include "snapshot_json.h"

namespace vigil::posture {

nlohmann::ordered_json to_json(const Snapshot& signals, std::chrono::seconds default_max_age,
                               std::chrono::system_clock::time_point now) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& s : signals) {
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.observed_at).count();
        auto max_age = s.max_age.count() > 0 ? s.max_age : default_max_age;
        list.push_back({{"name", s.name},
                        {"value", s.value},
                        {"source", s.source},
                        {"age_ms", age},
                        {"max_age_seconds", max_age.count()}});
    }
    return {{"max_age_seconds", default_max_age.count()}, {"signals", list}};
}

}  // namespace vigil::posture
