// OPA's Data API answer ({"result": ...}).
#include <cstddef>
#include <cstdint>
#include <string>

#include "obligations.h"
#include "pdp_protocols.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto answer = vigil::opa_response(std::string(reinterpret_cast<const char*>(data), size));
    if (answer) (void)vigil::parse_obligations(answer->context);
    return 0;
}
