// The loop's watch over connections whose request has not arrived: news
// once per arrival, items handed back on release or at their time, and no
// wake-up for an item released already. Real socket pairs.
#include "arrivals.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
    vigil::UniqueFd ours, theirs;
    Pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        ours = vigil::UniqueFd(fds[0]);
        theirs = vigil::UniqueFd(fds[1]);
    }
};

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("arrivals: each arrival is news once; a release hands the item back") {
    vigil::Arrivals<std::string> arrivals;
    Pair a, b;
    std::string item_a = "a", item_b = "b";
    auto until = Clock::now() + std::chrono::seconds(10);
    REQUIRE(arrivals.watch(a.ours.get(), item_a, until));
    REQUIRE(arrivals.watch(b.ours.get(), item_b, until));
    CHECK(arrivals.size() == 2);
    CHECK_FALSE(readable(arrivals.fd()));
    CHECK(arrivals.news().empty());

    REQUIRE(::write(a.theirs.get(), "x", 1) == 1);
    CHECK(readable(arrivals.fd()));
    auto news = arrivals.news();
    REQUIRE(news.size() == 1);
    CHECK(news[0].conn == a.ours.get());
    CHECK_FALSE(news[0].hung_up);
    CHECK(arrivals.news().empty());  // edge-triggered: the same byte is no news again
    REQUIRE(::write(a.theirs.get(), "y", 1) == 1);
    CHECK(arrivals.news().size() == 1);  // more bytes are

    b.theirs.reset();
    news = arrivals.news();
    REQUIRE(news.size() == 1);
    CHECK(news[0].conn == b.ours.get());
    CHECK(news[0].hung_up);

    auto released = arrivals.release(a.ours.get());
    REQUIRE(released);
    CHECK(*released == "a");
    CHECK_FALSE(arrivals.release(a.ours.get()));
    REQUIRE(::write(a.theirs.get(), "z", 1) == 1);
    CHECK(arrivals.news().empty());  // watched no more
    CHECK(arrivals.size() == 1);
}

TEST_CASE("arrivals: items expire at their time, earliest first; released ones wake nobody") {
    vigil::Arrivals<std::string> arrivals;
    Pair early, late, gone;
    auto now = Clock::now();
    std::string e = "early", l = "late", g = "gone";
    REQUIRE(arrivals.watch(late.ours.get(), l, now + std::chrono::seconds(20)));
    REQUIRE(arrivals.watch(gone.ours.get(), g, now + std::chrono::seconds(5)));
    REQUIRE(arrivals.watch(early.ours.get(), e, now + std::chrono::seconds(10)));
    CHECK(arrivals.next_deadline() == now + std::chrono::seconds(5));
    REQUIRE(arrivals.release(gone.ours.get()));
    CHECK(arrivals.next_deadline() == now + std::chrono::seconds(10));  // not the released one's

    CHECK(arrivals.expired(now + std::chrono::seconds(9)).empty());
    auto expired = arrivals.expired(now + std::chrono::seconds(15));
    REQUIRE(expired.size() == 1);
    CHECK(expired[0] == "early");
    CHECK(arrivals.size() == 1);

    SECTION("a descriptor watched again for a new item keeps only the new item's time") {
        std::string again = "again";
        REQUIRE(arrivals.release(late.ours.get()));
        REQUIRE(arrivals.watch(late.ours.get(), again, now + std::chrono::seconds(60)));
        CHECK(arrivals.expired(now + std::chrono::seconds(30)).empty());  // the old 20 s is not its
        CHECK(arrivals.next_deadline() == now + std::chrono::seconds(60));
    }
    SECTION("at a stop, every item is handed back") {
        auto all = arrivals.release_all();
        REQUIRE(all.size() == 1);
        CHECK(all[0] == "late");
        CHECK(arrivals.size() == 0);
        CHECK_FALSE(arrivals.next_deadline());
    }
}
