// CrowdStrike Falcon: the Zero Trust Assessment file (a JWT whose payload
// carries the scores) and falconctl's reduced-functionality-mode line.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "falcon_rfm.h"
#include "falcon_zta.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1780000000));
    (void)vigil::posture::parse_falcon_zta(text, now);
    (void)vigil::posture::parse_rfm_state(text);
    return 0;
}
