#include "journal_queue.h"

#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <system_error>

namespace vigil {
namespace {

void send_to_journald(const JournalEntry& entry) {
    std::vector<iovec> iov;
    iov.reserve(entry.size());
    for (const std::string& field : entry) iov.push_back({const_cast<char*>(field.data()), field.size()});
    // Best effort: without journald (a container, a test namespace) it fails quietly.
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

// How long the thread gathers entries after the first before it sends them:
// how late the journal may be, for fewer wake-ups of the thread.
constexpr std::chrono::milliseconds kGather{5};

}  // namespace

JournalQueue::JournalQueue(size_t capacity, Sender sender)
    : capacity_(capacity), sender_(sender ? std::move(sender) : Sender(send_to_journald)) {}

JournalQueue::~JournalQueue() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    queued_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void JournalQueue::send(JournalEntry entry) {
    std::unique_lock lock(mu_);
    if (!thread_.joinable() && !stopping_) {
        try {
            thread_ = std::thread([this] { run(); });
        } catch (const std::system_error&) {
            // No thread to be had (RLIMIT_NPROC): send from here, as before.
        }
    }
    if (stopping_ || !thread_.joinable()) {
        lock.unlock();
        sender_(entry);
        return;
    }
    // Full: journald has been stalled for a while. Wait for the thread to
    // take what is queued, as a direct send would have waited, in order.
    sent_.wait(lock, [&] { return entries_.size() < capacity_; });
    entries_.push_back(std::move(entry));
    // Woken only from its idle wait; gathering or sending, the thread looks
    // again by itself. One wake-up per kGather under load, not one per entry.
    bool wake = idle_ || entries_.size() == capacity_ / 2;
    idle_ = false;
    lock.unlock();
    if (wake) queued_.notify_one();
}

void JournalQueue::flush() {
    std::unique_lock lock(mu_);
    sent_.wait(lock, [&] { return entries_.empty() && in_hand_ == 0; });
}

void JournalQueue::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        idle_ = entries_.empty();
        queued_.wait(lock, [&] { return stopping_ || !entries_.empty(); });
        idle_ = false;
        if (entries_.empty()) return;  // stopping, and everything sent
        queued_.wait_for(lock, kGather, [&] { return stopping_ || entries_.size() >= capacity_ / 2; });
        std::deque<JournalEntry> batch;
        batch.swap(entries_);
        in_hand_ = batch.size();
        lock.unlock();
        sent_.notify_all();  // room again for callers waiting on a full queue
        for (const JournalEntry& e : batch) sender_(e);
        lock.lock();
        in_hand_ = 0;
        sent_.notify_all();
    }
}

JournalQueue& journal_queue() {
    static JournalQueue queue;
    return queue;
}

}  // namespace vigil
