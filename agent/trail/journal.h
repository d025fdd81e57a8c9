// A structured journald entry per decision, beside the audit file: admins
// query `journalctl MESSAGE_ID=... VIGIL_OUTCOME=deny`.
#ifndef VIGIL_TRAIL_JOURNAL_H
#define VIGIL_TRAIL_JOURNAL_H

#include "journal_queue.h"

namespace vigil {

struct DecisionRecord;

// The entry: MESSAGE, MESSAGE_ID, PRIORITY and the VIGIL_ fields.
JournalEntry journal_entry(const DecisionRecord& r);

// Queued for journal_queue()'s thread, sent after the answer. Best effort:
// without journald (a container, a test namespace) it is a no-op.
void journal_decision(const DecisionRecord& r);

}  // namespace vigil

#endif
