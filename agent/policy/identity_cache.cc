#include "identity_cache.h"

namespace vigil {
namespace {

// Written less than this ago, a file's stat may not show a second write in
// the same timestamp tick (coarse: one jiffy, often 4 ms; a second is
// generous). Content changes move mtime; ctime alone (chmod, chown) does not
// change what NSS answers, so it need not be old, only unchanged.
constexpr std::chrono::seconds kRacyWindow{1};

}  // namespace

std::vector<std::string> identity_sources(const std::string& grant_table) {
    std::vector<std::string> files = {"/etc/passwd", "/etc/group", "/etc/nsswitch.conf"};
    if (!grant_table.empty()) files.push_back(grant_table);
    return files;
}

IdentityCache::IdentityCache(IdentityCacheSettings settings, IdentityLookup lookup, SteadyNow now)
    : settings_(std::move(settings)), lookup_(std::move(lookup)), now_(std::move(now)) {}

std::vector<IdentityCache::Stamp> IdentityCache::stamps_now() const {
    std::vector<Stamp> stamps;
    stamps.reserve(settings_.watched.size());
    // Followed: NSS reads the file a symlink names.
    for (const std::string& path : settings_.watched) stamps.push_back(file_stamp(path, Symlinks::Follow));
    return stamps;
}

bool IdentityCache::racy(const std::vector<Stamp>& stamps) {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto window = std::chrono::duration_cast<std::chrono::nanoseconds>(kRacyWindow).count();
    for (const Stamp& s : stamps) {
        if (s.exists && now - s.mtime_ns < window) return true;
    }
    return false;
}

bool IdentityCache::before_next_change(const std::vector<Stamp>& stamps, std::chrono::system_clock::time_point now) {
    if (!settings_.next_change) return true;
    if (change_stamps_ != stamps || change_stamps_.empty()) {
        change_at_ = settings_.next_change();
        change_stamps_ = stamps;
    }
    return !change_at_ || now < *change_at_;
}

std::optional<CachedIdentity> IdentityCache::fresh(const std::string& user, const std::vector<Stamp>& stamps,
                                                   std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(user);
    if (it == entries_.end()) return std::nullopt;
    const Entry& e = it->second;
    auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.read_at);
    if (e.stamps != stamps || age >= settings_.max_age || age.count() < 0 ||
        !before_next_change(stamps, std::chrono::system_clock::now())) {
        entries_.erase(it);
        return std::nullopt;
    }
    return CachedIdentity{e.identity, age};
}

void IdentityCache::keep(const std::string& user, Entry entry) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= settings_.max_entries && !entries_.count(user)) entries_.clear();
    entries_[user] = std::move(entry);
}

CachedIdentity IdentityCache::lookup(const std::string& user) {
    if (settings_.max_age.count() <= 0) return {lookup_(user), {}};
    std::vector<Stamp> before = stamps_now();
    auto now = now_();
    if (auto cached = fresh(user, before, now)) return *cached;
    std::optional<Identity> identity = lookup_(user);
    // Kept only when the files did not change while NSS read them and are
    // old enough for their stat to show the next change.
    if (!racy(before) && stamps_now() == before) keep(user, {identity, now, std::move(before)});
    return {std::move(identity), {}};
}

std::optional<CachedIdentity> IdentityCache::cached(const std::string& user) {
    if (settings_.max_age.count() <= 0) return std::nullopt;
    return fresh(user, stamps_now(), now_());
}

}  // namespace vigil
