#include "grants.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>

#include "log.h"

namespace vigil {
namespace {

int64_t epoch(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string new_grant_id() {
    unsigned char b[12];
    if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return "";
    std::string out = "g-";
    for (unsigned char c : b) out += fmt::format("{:02x}", c);
    return out;
}

// Declares every configured group, so getent shows them even with no member.
void declare_groups(GrantTable& t, const GrantSettings& s) {
    for (const auto& g : s.groups) {
        bool known =
            std::any_of(t.groups.begin(), t.groups.end(), [&](const GrantGroup& x) { return x.name == g.name; });
        if (!known) t.groups.push_back({g.name, g.gid, 0});
    }
}

}  // namespace

Grants::Grants(GrantSettings settings) : settings_(std::move(settings)), file_(settings_.table) {}

Result<ActiveGrant> Grants::grant(const std::string& user, const std::string& group, std::chrono::seconds length,
                                  const std::string& reason) {
    bool configured = std::any_of(settings_.groups.begin(), settings_.groups.end(),
                                  [&](const GrantGroupSettings& g) { return g.name == group; });
    if (!configured) return err(fmt::format("group \"{}\" is not listed under [[grants.group]]", group));
    std::lock_guard lock(mu_);
    auto table = file_.load();
    if (!table) return table.error();
    declare_groups(*table, settings_);
    // Whole seconds, as the table stores them, so what vigilctl prints is
    // exactly when the module stops serving the row.
    auto until = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now() + length);
    ActiveGrant g{new_grant_id(), group, "", user, until, reason};
    if (g.id.size() < 3) return err("no randomness for a grant id");
    put_member(*table, {group, user, epoch(g.expires_at), g.id});
    if (auto s = file_.store(*table); !s) return s.error();
    reasons_[g.id] = reason;
    return g;
}

Result<ActiveGrant> Grants::grant_account(const std::string& requester, const std::string& account,
                                          std::chrono::seconds length, const std::string& reason) {
    auto conf = std::find_if(settings_.accounts.begin(), settings_.accounts.end(),
                             [&](const GrantAccountSettings& a) { return a.name == account; });
    if (conf == settings_.accounts.end()) {
        return err(fmt::format("account \"{}\" is not listed under [[grants.account]]", account));
    }
    std::lock_guard lock(mu_);
    auto table = file_.load();
    if (!table) return table.error();
    int64_t now = epoch(std::chrono::system_clock::now());
    for (const GrantAccount& a : table->accounts) {
        if (a.name != account || a.expires <= now) continue;
        // One holder at a time: whoever holds it can act as it.
        auto owner = owners_.find(a.grant_id);
        if (owner == owners_.end() || owner->second != requester) {
            return err(fmt::format("account \"{}\" is granted to someone else until it expires", account));
        }
    }
    declare_groups(*table, settings_);
    auto until = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now() + length);
    ActiveGrant g{new_grant_id(), "", account, requester, until, reason};
    if (g.id.size() < 3) return err("no randomness for a grant id");
    std::string gecos = conf->gecos.empty() ? "vigil grant for " + requester : conf->gecos;
    put_account(*table, {account, conf->uid, conf->gid, gecos, conf->home, conf->shell, epoch(until), g.id});
    if (auto s = file_.store(*table); !s) return s.error();
    reasons_[g.id] = reason;
    owners_[g.id] = requester;
    return g;
}

std::optional<EndedGrant> Grants::revoke(const std::string& id) {
    std::lock_guard lock(mu_);
    auto table = file_.load();
    if (!table) {
        log_error("grants: {}", table.error().message);
        return std::nullopt;
    }
    std::optional<EndedGrant> gone;
    auto& m = table->members;
    if (auto it = std::find_if(m.begin(), m.end(), [&](const GrantMember& x) { return x.grant_id == id; });
        it != m.end()) {
        gone = EndedGrant{id, fmt::format("{} of {}", it->group, it->user)};
        m.erase(it);
    }
    auto& a = table->accounts;
    if (auto it = std::find_if(a.begin(), a.end(), [&](const GrantAccount& x) { return x.grant_id == id; });
        it != a.end()) {
        gone = EndedGrant{id, "account " + it->name};
        a.erase(it);
    }
    if (!gone) return std::nullopt;
    if (auto s = file_.store(*table); !s) {
        // The row stays served until its own expiry: say so loudly.
        log_error("grants: cannot end {} ({}): {}", id, gone->what, s.error().message);
        return std::nullopt;
    }
    reasons_.erase(id);
    owners_.erase(id);
    return gone;
}

std::vector<EndedGrant> Grants::sweep(std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mu_);
    auto table = file_.load();
    if (!table) return {};  // logged by load(), once per version of the file
    GrantTable ended = take_expired(*table, epoch(now));
    if (ended.members.empty() && ended.groups.empty() && ended.accounts.empty()) return {};
    if (auto s = file_.store(*table); !s) log_error("grants: {}", s.error().message);
    std::vector<EndedGrant> out;
    for (const auto& m : ended.members) out.push_back({m.grant_id, fmt::format("{} of {}", m.group, m.user)});
    for (const auto& a : ended.accounts) out.push_back({a.grant_id, "account " + a.name});
    for (const auto& e : out) reasons_.erase(e.grant_id), owners_.erase(e.grant_id);
    return out;
}

std::vector<ActiveGrant> Grants::list(const std::string& user) const {
    std::lock_guard lock(mu_);
    std::vector<ActiveGrant> out;
    auto table = file_.load();
    if (!table) return out;
    int64_t now = epoch(std::chrono::system_clock::now());
    auto reason_of = [&](const std::string& id) {
        auto r = reasons_.find(id);
        return r == reasons_.end() ? std::string() : r->second;
    };
    for (const auto& m : table->members) {
        if (m.expires <= now || (!user.empty() && m.user != user)) continue;
        out.push_back({m.grant_id, m.group, "", m.user,
                       std::chrono::system_clock::time_point(std::chrono::seconds(m.expires)), reason_of(m.grant_id)});
    }
    for (const auto& a : table->accounts) {
        if (a.expires <= now || (!user.empty() && a.name != user)) continue;
        auto owner = owners_.find(a.grant_id);
        out.push_back({a.grant_id, "", a.name, owner == owners_.end() ? "" : owner->second,
                       std::chrono::system_clock::time_point(std::chrono::seconds(a.expires)), reason_of(a.grant_id)});
    }
    return out;
}

}  // namespace vigil
