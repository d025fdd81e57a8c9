// Durations as admins write them in vigil.toml: "90s", "30m", "8h", "1h30m", "2d",
// and for deadlines "800ms".
#ifndef VIGIL_BASE_DURATION_H
#define VIGIL_BASE_DURATION_H

#include <chrono>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil {

// A positive duration of at most 366 days; anything else is an error.
Result<std::chrono::seconds> parse_duration(std::string_view text);

// As parse_duration, also reading "ms" ("800ms", "1s500ms"): for deadlines.
Result<std::chrono::milliseconds> parse_duration_ms(std::string_view text);

// The shortest form parse_duration reads back: 28800s -> "8h".
std::string format_duration(std::chrono::seconds d);

}  // namespace vigil

#endif
