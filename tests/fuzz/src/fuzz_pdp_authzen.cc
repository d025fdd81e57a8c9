// A PDP's answer to one AuthZEN evaluation, read under both profiles, then
// its context read for obligations as the engine does. The PDP is remote: a
// proxy, a broken deployment or an attacker on the path writes these bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "obligations.h"
#include "pdp_fixture.h"
#include "pdp_protocols.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const vigil::PdpQuery q = fuzz_query("alice", "sudo");
    std::string body(reinterpret_cast<const char*>(data), size);
    for (auto profile : {vigil::AuthzenProfile::Standard, vigil::AuthzenProfile::Cerbos}) {
        auto answer = vigil::authzen_response(body, profile, q);
        if (answer) (void)vigil::parse_obligations(answer->context, {"cerbos"});
    }
    return 0;
}
