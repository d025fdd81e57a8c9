// The Wazuh agent's state file (wazuh-agentd.state: key='value' lines).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wazuh_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1780000000));
    (void)vigil::posture::parse_wazuh_state(std::string_view(reinterpret_cast<const char*>(data), size), now);
    return 0;
}
