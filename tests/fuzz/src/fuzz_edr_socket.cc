// An EDR agent's answer on its unix socket: where the first JSON value ends
// (found as bytes arrive), then the configured fields read from it. The EDR
// agent is local but not ours; an old or broken one writes anything.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "json_value_end.h"
#include "socket_collector.h"

namespace {

vigil::posture::SocketSettings settings() {
    vigil::posture::SocketSettings s;
    s.name = "edr";
    s.path = "/run/edr.sock";
    s.fields = {{"state", "sensor.state"}, {"score", "health.score"}, {"first", "checks.0.ok"}};
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const vigil::posture::SocketSettings s = settings();
    std::string_view stream(reinterpret_cast<const char*>(data), size);

    // The end found must not depend on how the bytes were chunked.
    vigil::posture::JsonValueEnd whole;
    std::optional<size_t> at_once = whole.feed(stream);
    vigil::posture::JsonValueEnd trickle;
    std::optional<size_t> byte_by_byte;
    for (size_t i = 0; i < stream.size() && !byte_by_byte; ++i) byte_by_byte = trickle.feed(stream.substr(i, 1));
    if (at_once != byte_by_byte) __builtin_trap();
    if (at_once && *at_once > stream.size()) __builtin_trap();

    (void)vigil::posture::parse_socket_answer(stream.substr(0, at_once.value_or(stream.size())), s);
    return 0;
}
