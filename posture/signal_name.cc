#include "signal_name.h"

#include <fmt/format.h>

namespace vigil::posture {

Status check_signal_name_part(std::string_view part, std::string_view what) {
    if (part.empty() || part.size() > 64) return err(fmt::format("{} must be 1 to 64 characters", what));
    if (part.front() == '.' || part.back() == '.' || part.find("..") != std::string_view::npos) {
        return err(fmt::format("{} \"{}\": dots only between parts", what, part));
    }
    for (char c : part) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  c == '.';
        if (!ok) return err(fmt::format("{} \"{}\": use letters, digits, '_', '-' and '.'", what, part));
    }
    return Ok{};
}

}  // namespace vigil::posture
