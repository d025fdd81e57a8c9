#include "trusted_ids.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "decimal.h"

namespace vigil::posture {
namespace {

constexpr size_t kMaxAccountLength = 32;

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// A uid written as digits, if it is one (uid_t(-1) means "no uid" to the kernel).
std::optional<uid_t> numeric_uid(const std::string& s) {
    uint64_t v = 0;
    if (s.size() > 10 || !wire::parse_decimal(s, UINT32_MAX - 1, v)) return std::nullopt;
    return static_cast<uid_t>(v);
}

struct Account {
    uid_t uid;
    std::optional<gid_t> gid;  // the primary group, when NSS knows the account
    std::string name;
};

std::optional<Account> look_up(const std::string& account) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16 * 1024);
    auto uid = numeric_uid(account);
    int rc = uid ? ::getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found)
                 : ::getpwnam_r(account.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == 0 && found) return Account{pw.pw_uid, pw.pw_gid, pw.pw_name};
    if (uid) return Account{*uid, std::nullopt, ""};
    return std::nullopt;
}

template <class Id>
void add(std::vector<Id>& v, Id id) {
    if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
}

}  // namespace

bool TrustedIds::trusts_uid(uid_t uid) const { return std::find(uids.begin(), uids.end(), uid) != uids.end(); }

bool TrustedIds::trusts_gid(gid_t gid) const { return std::find(gids.begin(), gids.end(), gid) != gids.end(); }

TrustedIds trusted_ids(const std::string& account) {
    TrustedIds ids{{0, ::geteuid()}, {0}, "root"};
    if (ids.uids[1] == 0) ids.uids.pop_back();
    if (ids.uids.size() > 1) ids.described += fmt::format(" or uid {} (vigild itself)", ids.uids[1]);
    if (account.empty()) return ids;
    auto a = look_up(account);
    if (!a) {
        ids.described += fmt::format(" (no user {} on this host)", account);
        return ids;
    }
    add(ids.uids, a->uid);
    if (a->gid) add(ids.gids, *a->gid);
    ids.described +=
        a->name.empty() ? fmt::format(" or uid {}", a->uid) : fmt::format(" or {} (uid {})", a->name, a->uid);
    return ids;
}

bool valid_account(const std::string& account) {
    if (account.empty()) return true;
    if (all_digits(account)) return numeric_uid(account).has_value();
    return account.size() <= kMaxAccountLength && account[0] != '-' &&
           account.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               std::string::npos;
}

}  // namespace vigil::posture
