#include "json_path.h"

#include <fmt/format.h>

#include "decimal.h"

namespace vigil::posture {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

Status check_json_path(std::string_view path) {
    if (path.empty()) return err("empty JSON path");
    size_t start = 0;
    for (;;) {
        size_t dot = path.find('.', start);
        if ((dot == std::string_view::npos ? path.size() : dot) == start) {
            return err(fmt::format("JSON path \"{}\" has an empty part", path));
        }
        if (dot == std::string_view::npos) return Ok{};
        start = dot + 1;
    }
}

Result<std::string> json_path_text(const nlohmann::json& doc, std::string_view path) {
    if (auto ok = check_json_path(path); !ok) return ok.error();
    const nlohmann::json* at = &doc;
    size_t start = 0;
    for (;;) {
        size_t dot = path.find('.', start);
        std::string_view part =
            path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (at->is_object()) {
            auto it = at->find(std::string(part));
            if (it == at->end()) return err(fmt::format("{}: not in the answer", path));
            at = &*it;
        } else if (at->is_array() && all_digits(part)) {
            size_t i = 0;
            if (!wire::parse_decimal_as(part, i) || i >= at->size()) {
                return err(fmt::format("{}: not in the answer", path));
            }
            at = &(*at)[i];
        } else {
            return err(fmt::format("{}: not in the answer", path));
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    auto text = json_scalar_text(*at);
    if (!text) return err(fmt::format("{}: {}", path, text.error().message));
    return text;
}

}  // namespace vigil::posture
