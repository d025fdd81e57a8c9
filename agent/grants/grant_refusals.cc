#include "grant_refusals.h"

#include <algorithm>
#include <vector>

#include "log.h"
#include "timestamp.h"

namespace vigil {
namespace {

// The trail record names at most this many uids (those refused most); the
// rest are counted in "more_uids", so one record stays small whoever asks.
constexpr size_t kUidsPerRecord = 16;
// Uids tracked at once; refusals of any further uid are counted, unnamed.
constexpr size_t kMaxUids = 4096;

bool power_of_two(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

nlohmann::ordered_json reasons_json(const std::map<GrantRefusal, uint64_t>& by) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [why, n] : by) j[to_string(why)] = n;
    return j;
}

}  // namespace

const char* to_string(GrantRefusal r) {
    switch (r) {
        case GrantRefusal::UnknownUid: return "unknown_uid";
        case GrantRefusal::RateLimited: return "rate_limited";
        case GrantRefusal::Malformed: return "malformed";
        case GrantRefusal::NotOffered: return "not_offered";
        case GrantRefusal::BadReason: return "bad_reason";
        case GrantRefusal::BindWithoutSession: return "bind_without_session";
    }
    return "?";
}

GrantRefusals::GrantRefusals(Sink sink, Clock::duration every)
    : sink_(std::move(sink)), every_(every), thread_([this] { run(); }) {}

GrantRefusals::~GrantRefusals() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::lock_guard lock(mu_);
    if (pending_ > 0) write_locked(Clock::now());
}

void GrantRefusals::note(uint32_t uid, const std::string& user, GrantRefusal why, Clock::time_point now) {
    std::lock_guard lock(mu_);
    if (pending_++ == 0) since_ = std::chrono::system_clock::now();
    ++pending_by_[why];
    if (uids_.contains(uid) || uids_.size() < kMaxUids) {
        Uid& u = uids_[uid];
        if (u.streak > 0 && now - u.last >= every_) u.streak = 0;  // quiet for a while: a new streak
        if (u.streak == 0) u.streak_since = std::chrono::system_clock::now();
        u.user = user;
        u.last = now;
        ++u.pending;
        ++u.pending_by[why];
        if (power_of_two(++u.streak)) {
            log_warn("grant requests of uid {} ({}): {} refused since {}, this one {}; the trail counts them", uid,
                     user.empty() ? "no user name" : user, u.streak, rfc3339(u.streak_since), to_string(why));
        }
    } else {
        ++pending_untracked_;
    }
    // The first refusal after a quiet spell is in the trail at once.
    if (!written_ || now - last_written_ >= every_) write_locked(now);
}

void GrantRefusals::flush_due(Clock::time_point now) {
    std::lock_guard lock(mu_);
    if (pending_ > 0 && (!written_ || now - last_written_ >= every_)) write_locked(now);
    // Forget uids quiet for a whole interval with nothing left to write.
    std::erase_if(uids_, [&](const auto& kv) { return kv.second.pending == 0 && now - kv.second.last >= every_; });
}

void GrantRefusals::write_locked(Clock::time_point now) {
    std::vector<std::pair<uint32_t, const Uid*>> named;
    for (const auto& [uid, u] : uids_) {
        if (u.pending > 0) named.emplace_back(uid, &u);
    }
    std::sort(named.begin(), named.end(),
              [](const auto& a, const auto& b) { return a.second->pending > b.second->pending; });
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < named.size() && i < kUidsPerRecord; ++i) {
        const Uid& u = *named[i].second;
        list.push_back(
            {{"uid", named[i].first}, {"user", u.user}, {"count", u.pending}, {"reasons", reasons_json(u.pending_by)}});
    }
    nlohmann::ordered_json r;
    r["time"] = rfc3339(std::chrono::system_clock::now());
    r["event"] = "grant_requests_refused";
    r["since"] = rfc3339(since_);
    r["count"] = pending_;
    r["reasons"] = reasons_json(pending_by_);
    r["uids"] = list;
    // Uids not listed: beyond the record's share, and (counted as one) any
    // past the table's cap.
    size_t more = (named.size() > kUidsPerRecord ? named.size() - kUidsPerRecord : 0) + (pending_untracked_ ? 1 : 0);
    if (more > 0) r["more_uids"] = more;
    sink_(std::move(r));
    for (auto& [uid, u] : uids_) u.pending = 0, u.pending_by.clear();
    pending_ = 0;
    pending_by_.clear();
    pending_untracked_ = 0;
    written_ = true;
    last_written_ = now;
}

void GrantRefusals::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        wake_.wait_for(lock, every_ / 4);
        if (stopping_) break;
        lock.unlock();
        flush_due(Clock::now());
        lock.lock();
    }
}

}  // namespace vigil
