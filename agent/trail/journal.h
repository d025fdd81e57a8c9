// A structured journald entry per decision, beside the audit file: admins
// query `journalctl MESSAGE_ID=... VIGIL_OUTCOME=deny`.
#ifndef VIGIL_TRAIL_JOURNAL_H
#define VIGIL_TRAIL_JOURNAL_H

namespace vigil {

struct DecisionRecord;

// Best effort: without journald (a container, a test namespace) it is a no-op.
void journal_decision(const DecisionRecord& r);

}  // namespace vigil

#endif
