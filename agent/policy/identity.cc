#include "identity.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>

namespace vigil {
namespace {

constexpr size_t kNssBuffer = 16384;
constexpr size_t kMaxNssBuffer = 1024 * 1024;
constexpr int kMaxGroups = 65536;

// Runs a reentrant NSS lookup (getpwnam_r and its kin) into entry, growing
// buf while the entry does not fit (ERANGE), up to kMaxNssBuffer; the
// entry's strings point into buf. found: an entry came back. error: NSS
// could not say (a source failed, or the entry is larger than the limit);
// neither: there is no such entry.
struct NssOutcome {
    bool found = false;
    bool error = false;
};
template <class Entry, class Lookup>
NssOutcome nss_lookup(Entry& entry, std::vector<char>& buf, Lookup lookup) {
    Entry* result = nullptr;
    int rc = 0;
    while ((rc = lookup(&entry, buf.data(), buf.size(), &result)) == ERANGE && buf.size() < kMaxNssBuffer) {
        buf.resize(buf.size() * 2);
    }
    // getpwnam(3) lists 0, ENOENT, ESRCH, EBADF and EPERM as "not found".
    bool not_found = rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
    return {.found = result != nullptr, .error = result == nullptr && !not_found};
}

// A group's name; "" when no group has that id (a member of a group that is
// only a number); std::nullopt when NSS could not say, which fails the
// whole identity: a name left out could be the one a deny rule names.
std::optional<std::string> group_name(gid_t gid) {
    std::vector<char> buf(kNssBuffer);
    group gr{};
    NssOutcome got =
        nss_lookup(gr, buf, [gid](group* g, char* b, size_t n, group** r) { return getgrgid_r(gid, g, b, n, r); });
    if (got.error) return std::nullopt;
    return got.found ? std::string(gr.gr_name) : std::string();
}

// std::nullopt when the list cannot be read whole: a partial list could
// miss the group a deny rule names.
std::optional<std::vector<gid_t>> group_ids(const char* user, gid_t primary) {
    int n = 64;
    std::vector<gid_t> gids(static_cast<size_t>(n));
    while (getgrouplist(user, primary, gids.data(), &n) < 0) {
        if (n <= static_cast<int>(gids.size()) || n > kMaxGroups) return std::nullopt;
        gids.resize(static_cast<size_t>(n));
    }
    gids.resize(static_cast<size_t>(n));
    return gids;
}

}  // namespace

std::optional<Identity> lookup_identity(const std::string& user) {
    std::vector<char> buf(kNssBuffer);
    passwd pw{};
    auto by_name = [&user](passwd* p, char* b, size_t n, passwd** r) { return getpwnam_r(user.c_str(), p, b, n, r); };
    if (!nss_lookup(pw, buf, by_name).found) return std::nullopt;
    Identity id{pw.pw_uid, pw.pw_gid, {}, pw.pw_name};
    auto gids = group_ids(pw.pw_name, pw.pw_gid);
    if (!gids) return std::nullopt;
    for (gid_t g : *gids) {
        auto name = group_name(g);
        if (!name) return std::nullopt;
        if (!name->empty()) id.groups.push_back(std::move(*name));
    }
    std::sort(id.groups.begin(), id.groups.end());
    id.groups.erase(std::unique(id.groups.begin(), id.groups.end()), id.groups.end());
    return id;
}

std::optional<Identity> account_by_uid(uid_t uid) {
    std::vector<char> buf(kNssBuffer);
    passwd pw{};
    auto by_uid = [uid](passwd* p, char* b, size_t n, passwd** r) { return getpwuid_r(uid, p, b, n, r); };
    if (!nss_lookup(pw, buf, by_uid).found) return std::nullopt;
    return Identity{pw.pw_uid, pw.pw_gid, {}, pw.pw_name};
}

}  // namespace vigil
