// Dotted paths into a JSON document, as vigil.toml names the fields a posture
// source reports ("health.score", "sensors.0.state": a part that is all
// digits indexes an array), and the text a signal carries for what is found
// there: strings as they are, numbers and booleans as JSON writes them
// ("87", "0.5", "true").
//
//   auto doc = nlohmann::json::parse(answer, nullptr, false);
//   Result<std::string> v = json_path_text(doc, "health.score");   // "87"
//
// null, objects and arrays are not signal values: asking for one is an error
// naming the path, as is a path that leads nowhere. Keys that themselves
// contain a dot cannot be named.
#ifndef VIGIL_POSTURE_JSON_PATH_H
#define VIGIL_POSTURE_JSON_PATH_H

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

// Ok when path is non-empty dot-separated non-empty parts.
Status check_json_path(std::string_view path);

Result<std::string> json_path_text(const nlohmann::json& doc, std::string_view path);

// The signal text of one JSON value (json or ordered_json).
template <class Json>
Result<std::string> json_scalar_text(const Json& v) {
    if (v.is_string()) return v.template get<std::string>();
    if (v.is_boolean()) return std::string(v.template get<bool>() ? "true" : "false");
    if (v.is_number()) return v.dump();
    if (v.is_null()) return err("is null");
    return err(v.is_object() ? "is an object, not a value" : "is an array, not a value");
}

}  // namespace vigil::posture

#endif
