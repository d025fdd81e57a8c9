// The signals vigild holds as `vigilctl posture --json` shows them (the
// admin socket's AdminPosture answer): each with its age at now and the
// max_age it is trusted for (the collector's, else default_max_age).
#ifndef VIGIL_POSTURE_SNAPSHOT_JSON_H
#define VIGIL_POSTURE_SNAPSHOT_JSON_H

#include <chrono>
#include <nlohmann/json.hpp>

#include "signal.h"

namespace vigil::posture {

nlohmann::ordered_json to_json(const Snapshot& signals, std::chrono::seconds default_max_age,
                               std::chrono::system_clock::time_point now);

}  // namespace vigil::posture

#endif
