// Journal entries sent off the answer path. sd_journal_send costs a
// decision 45-60 µs with a live journald (its receiver runs on our CPU
// time), and blocks while journald is stalled; a decision's entry is queued
// here instead and one thread sends it, in order, after the answer, a few
// milliseconds later with those that came meanwhile.
//
// Nothing is dropped: when the queue is full (journald stalled for
// thousands of entries), the caller waits for room, as it would have waited
// on journald. The trail, not the journal, is what audit_failure guards.
//
//   journal_queue().send({"MESSAGE=...", "MESSAGE_ID=...", "VIGIL_USER=alice"});
#ifndef VIGIL_TRAIL_JOURNAL_QUEUE_H
#define VIGIL_TRAIL_JOURNAL_QUEUE_H

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil {

// One journal entry: "FIELD=value" strings, MESSAGE among them.
using JournalEntry = std::vector<std::string>;

class JournalQueue {
public:
    using Sender = std::function<void(const JournalEntry&)>;

    // sd_journal_sendv unless told otherwise (tests). The sending thread
    // starts with the first entry.
    explicit JournalQueue(size_t capacity = 4096, Sender sender = {});
    ~JournalQueue();  // sends what is queued, then joins

    void send(JournalEntry entry);
    // Returns once every entry queued before the call has been sent.
    void flush();

private:
    void run();

    size_t capacity_;
    Sender sender_;
    std::mutex mu_;
    std::condition_variable queued_;
    std::condition_variable sent_;  // entries taken or sent: room, or a flush done
    std::deque<JournalEntry> entries_;
    size_t in_hand_ = 0;  // taken by the thread, not yet sent
    bool idle_ = false;   // the thread waits for a first entry: wake it
    bool stopping_ = false;
    std::thread thread_;
};

// vigild's one queue.
JournalQueue& journal_queue();

}  // namespace vigil

#endif
