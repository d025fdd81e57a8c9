// A break-glass use as pam_vigil.so spools it (a frame in a file of its
// own, break_glass_spool.h). The directory is root's alone, but a crash
// mid-write or a bug in a module of another version leaves any bytes, and
// vigild reads them at every start: it must refuse them, never crash.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "break_glass_spool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto use = vigil::parse_break_glass(std::vector<uint8_t>(data, data + size));
    if (!use) return 0;
    // What reaches the trail must be valid JSON text.
    (void)vigil::to_json(*use).dump();
    return 0;
}
