// The trail's records are written by JsonWriter, not by nlohmann's dump: for
// any bytes a request may carry (a sudo argv, a certificate's key id), both
// must write the same text, and it must parse back to the same string when
// the bytes were UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string s(reinterpret_cast<const char*>(data), size);
    std::string ours;
    vigil::JsonWriter(ours).begin_object().field("k", s).field("n", static_cast<int64_t>(size)).end_object();
    nlohmann::ordered_json j = {{"k", s}, {"n", static_cast<int64_t>(size)}};
    std::string theirs = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (ours != theirs) std::abort();
    auto back = nlohmann::json::parse(ours, nullptr, false);
    if (back.is_discarded()) std::abort();
    return 0;
}
