// `vigilctl report`: what enforcement would have done, read from the trail.
// Before a service is switched from report to enforce ([rollout]), an admin
// asks who would have been refused, by which rule and why:
//
//   vigilctl report --since 24h          # the would-be denies and step-ups
//   vigilctl report --since 7d --json
//
// Counts the report-mode decisions (mode "report") since the cutoff by
// outcome, rule, service, user and reason; names the users who would have
// been locked out (every report-mode access decision of theirs, account or
// auth phase, would have been a deny); and, whatever the mode, counts PDP
// errors and break-glass uses.
#ifndef VIGIL_TRAIL_ROLLOUT_REPORT_H
#define VIGIL_TRAIL_ROLLOUT_REPORT_H

#include <istream>
#include <nlohmann/json.hpp>
#include <string>

namespace vigil {

// trail: the JSON lines of the audit file; since: an RFC 3339 UTC time as
// the trail writes them (records before it are skipped). Lines that do not
// parse are counted, not fatal.
nlohmann::ordered_json summarize_rollout(std::istream& trail, const std::string& since);

std::string render_rollout(const nlohmann::ordered_json& report);

}  // namespace vigil

#endif
