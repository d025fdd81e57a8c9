// Falcon's Reduced Functionality Mode, as `falconctl -g --rfm-state` prints
// it: a sensor in RFM (an unsupported kernel, say) runs but does not
// protect the host.
//
//   auto rfm = parse_rfm_state("rfm-state=false.\n");   // "false"
//
// falconctl -g has no one output format ("rfm-state=false.",
// "rfm-state=true, rfm-reason=..., code=0x..."), so the value is taken from
// after "rfm-state=" wherever it stands.
#ifndef VIGIL_POSTURE_FALCON_RFM_H
#define VIGIL_POSTURE_FALCON_RFM_H

#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

// "true" or "false"; an error for anything else ("rfm-state is not set").
Result<std::string> parse_rfm_state(std::string_view falconctl_output);

}  // namespace vigil::posture

#endif
