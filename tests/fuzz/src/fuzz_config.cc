// /etc/vigil/vigil.toml and its drop-ins: root writes them, but a typo, a
// truncated copy from configuration management or a merge gone wrong must
// end in an error naming the line, never in a crash of the agent (which
// would deny every login on the host).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)vigil::parse_config(text, "/etc/vigil/vigil.toml");
    return 0;
}
