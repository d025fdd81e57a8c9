// osqueryi --json output: an array of rows, one column read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "osquery_rows.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)vigil::posture::parse_osquery_rows(text, "version");
    (void)vigil::posture::parse_osquery_rows(text, "encrypted");
    return 0;
}
