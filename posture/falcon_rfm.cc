#include "falcon_rfm.h"

#include <fmt/format.h>

namespace vigil::posture {

Result<std::string> parse_rfm_state(std::string_view out) {
    constexpr std::string_view kKey = "rfm-state=";
    size_t at = out.find(kKey);
    if (at == std::string_view::npos) {
        if (out.find("rfm-state is not set") != std::string_view::npos) return err("rfm-state is not set");
        return err("no rfm-state in falconctl's output");
    }
    std::string_view rest = out.substr(at + kKey.size());
    std::string_view value = rest.substr(0, rest.find_first_of(",. \t\r\n"));
    if (value == "true" || value == "false") return std::string(value);
    return err(fmt::format("rfm-state is \"{}\", not true or false", value.substr(0, 32)));
}

}  // namespace vigil::posture
