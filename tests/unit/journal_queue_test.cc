#include "journal_queue.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "engine_testing.h"
#include "journal.h"

using vigil::JournalEntry;
using vigil::JournalQueue;

namespace {

// A journald stand-in: records what it was sent; held shut, it blocks like
// a stalled journald until opened.
struct Journald {
    std::mutex mu;
    std::condition_variable opened;
    std::condition_variable reached;
    bool shut = false;
    int waiting = 0;  // senders held at a shut journald
    std::vector<std::string> messages;
    std::vector<std::thread::id> senders;

    JournalQueue::Sender sender() {
        return [this](const JournalEntry& e) {
            std::unique_lock lock(mu);
            ++waiting;
            reached.notify_all();
            opened.wait(lock, [&] { return !shut; });
            --waiting;
            messages.push_back(e.front());
            senders.push_back(std::this_thread::get_id());
        };
    }
    void wait_for_a_sender() {
        std::unique_lock lock(mu);
        reached.wait(lock, [&] { return waiting > 0; });
    }
    void open() {
        {
            std::lock_guard lock(mu);
            shut = false;
        }
        opened.notify_all();
    }
};

}  // namespace

TEST_CASE("journal queue: entries reach journald in order, from another thread than the caller's") {
    Journald journald;
    JournalQueue queue(4096, journald.sender());
    for (int i = 0; i < 100; ++i) queue.send({"MESSAGE=" + std::to_string(i)});
    queue.flush();
    REQUIRE(journald.messages.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(journald.messages[i] == "MESSAGE=" + std::to_string(i));
    for (auto id : journald.senders) CHECK(id != std::this_thread::get_id());
}

TEST_CASE("journal queue: a stalled journald does not hold up the caller until the queue is full") {
    Journald journald;
    journald.shut = true;
    JournalQueue queue(4, journald.sender());
    // The first entry is taken by the thread (stuck in journald), four more fill the queue.
    queue.send({"MESSAGE=0"});
    journald.wait_for_a_sender();
    for (int i = 1; i < 5; ++i) queue.send({"MESSAGE=" + std::to_string(i)});
    auto sixth = std::async(std::launch::async, [&] { queue.send({"MESSAGE=5"}); });
    CHECK(sixth.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    journald.open();
    sixth.get();
    queue.flush();
    REQUIRE(journald.messages.size() == 6);
    for (int i = 0; i < 6; ++i) CHECK(journald.messages[i] == "MESSAGE=" + std::to_string(i));
}

TEST_CASE("journal queue: what is queued at destruction is sent, none lost") {
    Journald journald;
    {
        JournalQueue queue(4096, journald.sender());
        for (int i = 0; i < 50; ++i) queue.send({"MESSAGE=" + std::to_string(i)});
    }
    CHECK(journald.messages.size() == 50);
}

TEST_CASE("journal entry of a decision: message, id, priority and the VIGIL_ fields") {
    auto engine = vigil::testing::engine_on(R"(
[[rule]]
name = "ops in"
users = ["root"]
decision = "allow"
)");
    vigil::Request q;
    q.service = "sshd";
    q.user = "root";
    q.rhost = "192.0.2.7";
    vigil::DecisionRecord r = engine->decide(q);
    JournalEntry e = vigil::journal_entry(r);
    auto has = [&](const std::string& field) { return std::find(e.begin(), e.end(), field) != e.end(); };
    CHECK(has("MESSAGE=allow sshd for root: rule ops in from 192.0.2.7"));
    CHECK(has("MESSAGE_ID=5d1a6c0e7b2f4a9e8c3d2b1a0f9e8d7c"));
    CHECK(has("PRIORITY=6"));
    CHECK(has("VIGIL_OUTCOME=allow"));
    CHECK(has("VIGIL_MODE=enforce"));
    CHECK(has("VIGIL_REQUEST_ID=" + r.request_id));
    CHECK(has("VIGIL_POLICY_VERSION=" + r.policy_version));
}
