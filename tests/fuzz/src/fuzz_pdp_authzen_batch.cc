// A PDP's answer to an AuthZEN batch (live sessions re-decided together):
// as many decisions as queries, or an error, whatever the body claims.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "obligations.h"
#include "pdp_fixture.h"
#include "pdp_protocols.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::vector<vigil::PdpQuery> queries = {fuzz_query("alice", "sshd"), fuzz_query("bob", "sshd"),
                                                         fuzz_query("carol", "sudo")};
    std::string body(reinterpret_cast<const char*>(data), size);
    for (auto profile : {vigil::AuthzenProfile::Standard, vigil::AuthzenProfile::Cerbos}) {
        auto answers = vigil::authzen_batch_response(body, profile, queries);
        if (!answers) continue;
        if (answers->size() != queries.size()) __builtin_trap();  // one decision per session, always
        for (const auto& a : *answers) {
            if (a) (void)vigil::parse_obligations(a->context, {"cerbos"});
        }
    }
    return 0;
}
