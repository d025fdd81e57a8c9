#include "osquery_rows.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "json_path.h"

namespace vigil::posture {

Result<std::string> parse_osquery_rows(std::string_view json_text, const std::string& column) {
    // ordered_json: "the first column" must mean the query's first column,
    // not the alphabetically first key.
    auto rows = nlohmann::ordered_json::parse(json_text.begin(), json_text.end(), nullptr, false);
    if (rows.is_discarded() || !rows.is_array()) return err("osqueryi's output is not a JSON array of rows");
    if (rows.empty()) return err("the query returned no rows");
    const auto& row = rows.front();
    if (!row.is_object() || row.empty()) return err("the first row is not an object with columns");
    auto cell = column.empty() ? row.begin() : row.find(column);
    if (cell == row.end()) return err(fmt::format("the first row has no column \"{}\"", column));
    auto text = json_scalar_text(*cell);
    if (!text) return err(fmt::format("column \"{}\" {}", cell.key(), text.error().message));
    return text;
}

}  // namespace vigil::posture
