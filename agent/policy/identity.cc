#include "identity.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>

namespace vigil {
namespace {

constexpr size_t kNssBuffer = 16384;
constexpr int kMaxGroups = 65536;

std::optional<std::string> group_name(gid_t gid) {
    std::vector<char> buf(kNssBuffer);
    group gr{};
    group* result = nullptr;
    while (getgrgid_r(gid, &gr, buf.data(), buf.size(), &result) == ERANGE && buf.size() < 1024 * 1024) {
        buf.resize(buf.size() * 2);
    }
    if (result == nullptr) return std::nullopt;
    return std::string(gr.gr_name);
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
    passwd* result = nullptr;
    while (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &result) == ERANGE && buf.size() < 1024 * 1024) {
        buf.resize(buf.size() * 2);
    }
    if (result == nullptr) return std::nullopt;
    Identity id{pw.pw_uid, pw.pw_gid, {}, pw.pw_name};
    auto gids = group_ids(pw.pw_name, pw.pw_gid);
    if (!gids) return std::nullopt;
    for (gid_t g : *gids) {
        if (auto name = group_name(g)) id.groups.push_back(std::move(*name));
    }
    std::sort(id.groups.begin(), id.groups.end());
    id.groups.erase(std::unique(id.groups.begin(), id.groups.end()), id.groups.end());
    return id;
}

std::optional<Identity> account_by_uid(uid_t uid) {
    std::vector<char> buf(kNssBuffer);
    passwd pw{};
    passwd* result = nullptr;
    while (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == ERANGE && buf.size() < 1024 * 1024) {
        buf.resize(buf.size() * 2);
    }
    if (result == nullptr) return std::nullopt;
    return Identity{pw.pw_uid, pw.pw_gid, {}, pw.pw_name};
}

}  // namespace vigil
