// clamd's answers to PING and VERSION (engine/daily signatures/date).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "clamd_version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1780000000));
    (void)vigil::posture::parse_clamd_version(text, now);
    (void)vigil::posture::check_clamd_pong(text);
    return 0;
}
