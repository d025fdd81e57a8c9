// Cerbos' native CheckResources answer (/api/check/resources).
#include <cstddef>
#include <cstdint>
#include <string>

#include "obligations.h"
#include "pdp_fixture.h"
#include "pdp_protocols.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const vigil::PdpQuery q = fuzz_query("alice", "sudo");
    auto answer = vigil::cerbos_response(std::string(reinterpret_cast<const char*>(data), size), q);
    if (answer) (void)vigil::parse_obligations(answer->context, {"cerbos"});
    return 0;
}
