// Connections whose request has not all arrived yet, watched by vigild's
// event loop through one epoll set, so that no thread waits on a client that
// is slow to send (a module has connected and not yet written its frame, or
// a peer that never will). Each watched connection carries an item (the
// server's job for it) and a time by which its request must be in.
//
// Edge-triggered: each arrival of bytes (or the peer's hang-up) is news
// once; an item whose frame is still partial stays watched and is reported
// again when more comes. Not thread-safe: the loop thread alone uses it.
//
//   Arrivals<Job> arrivals;
//   arrivals.watch(conn_fd, job, now + read_timeout);
//   poll(... arrivals.fd() ...);
//   for (News n : arrivals.news()) if (whole(n.conn)) hand_on(*arrivals.release(n.conn));
//   for (Job& late : arrivals.expired(now)) close(late);
#ifndef VIGIL_IPC_ARRIVALS_H
#define VIGIL_IPC_ARRIVALS_H

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "unique_fd.h"

namespace vigil {

template <class T>
class Arrivals {
public:
    using Clock = std::chrono::steady_clock;
    struct News {
        int conn;
        bool hung_up;  // the peer closed or shut down its side: nothing more will come
    };

    Arrivals() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}

    // Readable when a watched connection has news.
    int fd() const { return epoll_.get(); }
    size_t size() const { return items_.size(); }

    // Watches conn until `until`, keeping item (which holds conn open). false,
    // item untouched, when the kernel refuses (or there is no epoll set).
    bool watch(int conn, T& item, Clock::time_point until) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
        ev.data.fd = conn;
        if (!epoll_ || ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn, &ev) != 0) return false;
        uint64_t serial = ++serial_;
        items_.emplace(conn, Entry{std::move(item), serial});
        deadlines_.push({until, conn, serial});
        return true;
    }

    // The watched connections with news since the last call (no waiting).
    std::vector<News> news() {
        epoll_event ev[64];
        int n = ::epoll_wait(epoll_.get(), ev, 64, 0);
        std::vector<News> out;
        for (int i = 0; i < n; ++i) {
            out.push_back({ev[i].data.fd, (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0});
        }
        return out;
    }

    // conn watched no more; its item handed back (nullopt: not watched).
    std::optional<T> release(int conn) {
        auto it = items_.find(conn);
        if (it == items_.end()) return std::nullopt;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn, nullptr);
        std::optional<T> item(std::move(it->second.item));
        items_.erase(it);
        return item;
    }

    // The items whose time has come, released.
    std::vector<T> expired(Clock::time_point now) {
        std::vector<T> out;
        while (!deadlines_.empty() && deadlines_.top().at <= now) {
            Deadline d = deadlines_.top();
            deadlines_.pop();
            if (!watched(d)) continue;  // gone already, or the descriptor now another connection's
            if (auto item = release(d.conn)) out.push_back(std::move(*item));
        }
        return out;
    }

    // Every item, released (vigild is stopping).
    std::vector<T> release_all() {
        std::vector<T> out;
        while (!items_.empty()) out.push_back(std::move(*release(items_.begin()->first)));
        deadlines_ = {};
        return out;
    }

    // The earliest time a watched item expires: the loop's poll wakes for
    // it. Deadlines of items released since are dropped here, so that the
    // loop does not wake for them.
    std::optional<Clock::time_point> next_deadline() {
        while (!deadlines_.empty() && !watched(deadlines_.top())) deadlines_.pop();
        if (deadlines_.empty()) return std::nullopt;
        return deadlines_.top().at;
    }

private:
    struct Entry {
        T item;
        uint64_t serial;
    };
    struct Deadline {
        Clock::time_point at;
        int conn;
        uint64_t serial;
        bool operator>(const Deadline& o) const { return at > o.at; }
    };

    // Still the item it was set for: not released, the descriptor not reused.
    bool watched(const Deadline& d) const {
        auto it = items_.find(d.conn);
        return it != items_.end() && it->second.serial == d.serial;
    }

    UniqueFd epoll_;
    std::unordered_map<int, Entry> items_;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
    uint64_t serial_ = 0;
};

}  // namespace vigil

#endif  // VIGIL_IPC_ARRIVALS_H
