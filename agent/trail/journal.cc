#include "journal.h"

#include <fmt/format.h>
#include <syslog.h>

#include "decision_record.h"
#include "events.h"
#include "journal_queue.h"

namespace vigil {

JournalEntry journal_entry(const DecisionRecord& r) {
    const Request& q = r.request;
    const Decision& d = r.decision;
    std::string outcome = recorded_outcome(r);
    // "would_deny" reads "would deny" in the message; fields keep the word.
    std::string said = outcome;
    if (r.report && d.outcome != Outcome::Allow) said[said.find('_')] = ' ';
    return {
        fmt::format("MESSAGE={} {} for {}: {}{}{}{}", said, q.service, q.user, d.rule.empty() ? "no rule" : "rule ",
                    d.rule, q.rhost.empty() ? "" : " from " + q.rhost, r.report ? " (report mode: not enforced)" : ""),
        fmt::format("MESSAGE_ID={}", event_info(Event::Decision).message_id),
        fmt::format("PRIORITY={}", d.outcome == Outcome::Allow ? LOG_INFO : LOG_NOTICE),
        "VIGIL_REQUEST_ID=" + r.request_id,
        fmt::format("VIGIL_PHASE={}", to_string(q.phase)),
        "VIGIL_SERVICE=" + q.service,
        "VIGIL_USER=" + q.user,
        "VIGIL_RHOST=" + q.rhost,
        "VIGIL_OUTCOME=" + outcome,
        fmt::format("VIGIL_MODE={}", r.report ? "report" : "enforce"),
        "VIGIL_RULE=" + d.rule,
        "VIGIL_REASON_ADMIN=" + d.reason_admin,
        "VIGIL_POLICY_VERSION=" + r.policy_version,
        fmt::format("VIGIL_LATENCY_US={}", r.latency.count()),
    };
}

void journal_decision(const DecisionRecord& r) { journal_queue().send(journal_entry(r)); }

}  // namespace vigil
