// What `osqueryi --json "<query>"` prints: a JSON array with one object per
// row, column names as keys, in the query's column order, values as strings.
//
//   auto v = parse_osquery_rows(R"([{"encrypted":"1","type":"luks"}])", "");   // "1"
//   auto t = parse_osquery_rows(R"([{"encrypted":"1","type":"luks"}])", "type"); // "luks"
//
// A posture signal is one value, so the first row is read: the named
// column, or the first one when no column is named. Write queries that put
// the answer there (SELECT count(*) ..., ... LIMIT 1).
#ifndef VIGIL_POSTURE_OSQUERY_ROWS_H
#define VIGIL_POSTURE_OSQUERY_ROWS_H

#include <string>
#include <string_view>

#include "result.h"

namespace vigil::posture {

// An error when the text is not a JSON array of objects, has no rows, or the
// first row lacks the column or holds no value there.
Result<std::string> parse_osquery_rows(std::string_view json_text, const std::string& column);

}  // namespace vigil::posture

#endif
