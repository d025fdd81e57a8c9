#include "journal.h"

#include <syslog.h>
#include <systemd/sd-journal.h>

#include "decision_record.h"
#include "events.h"

namespace vigil {

void journal_decision(const DecisionRecord& r) {
    const Request& q = r.request;
    const Decision& d = r.decision;
    std::string outcome = recorded_outcome(r);
    // "would_deny" reads "would deny" in the message; fields keep the word.
    std::string said = outcome;
    if (r.report && d.outcome != Outcome::Allow) said[said.find('_')] = ' ';
    sd_journal_send(
        "MESSAGE=%s %s for %s: %s%s%s%s", said.c_str(), q.service.c_str(), q.user.c_str(),
        d.rule.empty() ? "no rule" : "rule ", d.rule.c_str(), q.rhost.empty() ? "" : (" from " + q.rhost).c_str(),
        r.report ? " (report mode: not enforced)" : "", "MESSAGE_ID=%s", event_info(Event::Decision).message_id,
        "PRIORITY=%d", d.outcome == Outcome::Allow ? LOG_INFO : LOG_NOTICE, "VIGIL_REQUEST_ID=%s", r.request_id.c_str(),
        "VIGIL_PHASE=%s", to_string(q.phase), "VIGIL_SERVICE=%s", q.service.c_str(), "VIGIL_USER=%s", q.user.c_str(),
        "VIGIL_RHOST=%s", q.rhost.c_str(), "VIGIL_OUTCOME=%s", outcome.c_str(), "VIGIL_MODE=%s",
        r.report ? "report" : "enforce", "VIGIL_RULE=%s", d.rule.c_str(), "VIGIL_REASON_ADMIN=%s",
        d.reason_admin.c_str(), "VIGIL_POLICY_VERSION=%s", r.policy_version.c_str(), "VIGIL_LATENCY_US=%lld",
        static_cast<long long>(r.latency.count()), nullptr);
}

}  // namespace vigil
