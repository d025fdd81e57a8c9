// The names admins give posture sources and fields in vigil.toml, which end
// up as signal names ("edr" + "state" -> "edr.state") that rules require.
//
//   if (auto ok = check_signal_name_part(s.name, "posture.socket name"); !ok) fail(ok.error());
#ifndef VIGIL_POSTURE_SIGNAL_NAME_H
#define VIGIL_POSTURE_SIGNAL_NAME_H

#include <string_view>

#include "result.h"

namespace vigil::posture {

// Ok for 1-64 characters of [A-Za-z0-9_-] and inner dots: what a
// requirement ("NAME OP VALUE") can name without quoting. `what` labels the
// error.
Status check_signal_name_part(std::string_view part, std::string_view what);

}  // namespace vigil::posture

#endif
