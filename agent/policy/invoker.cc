#include "invoker.h"

#include <fmt/format.h>
#include <pwd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace vigil {
namespace {

struct Account {
    std::string name;
    uid_t uid = 0;
};

std::optional<Account> account_by_uid(uid_t uid) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::nullopt;
    return Account{found->pw_name, found->pw_uid};
}

std::optional<Account> account_by_name(const std::string& name) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::nullopt;
    return Account{found->pw_name, found->pw_uid};
}

}  // namespace

bool subject_is_invoker(const std::string& service) {
    return service == "sudo" || service == "sudo-i" || service == "su" || service == "su-l";
}

// "Uid:\t<real>\t<effective>\t<saved>\t<fs>" (proc(5)).
Result<uid_t> real_uid_of(pid_t pid, const std::string& proc) {
    std::string path = fmt::format("{}/{}/status", proc, pid);
    std::ifstream in(path);
    if (!in) return err(fmt::format("cannot read {}", path));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Uid:", 0) != 0) continue;
        std::istringstream fields(line.substr(4));
        long long real = -1;
        if (!(fields >> real) || real < 0 || real > 0xfffffffe) break;
        return static_cast<uid_t>(real);
    }
    return err(fmt::format("{} has no readable Uid line", path));
}

Status resolve_invoker(Request& q, const std::string& proc) {
    if (!subject_is_invoker(q.service)) return Ok{};
    if (!q.peer) return err("no peer credentials to name the invoking user by");
    // The peer is the process that asked and is waiting for this answer: its
    // pid cannot have been reused while the connection is open.
    auto uid = real_uid_of(q.peer->pid, proc);
    if (!uid) return uid.error();
    auto invoker = account_by_uid(*uid);
    if (!invoker) return err(fmt::format("the invoking uid {} has no user name", *uid));
    if (q.ruser.empty()) return err(fmt::format("{} set no PAM_RUSER to check the invoking user against", q.service));
    auto claimed = account_by_name(q.ruser);
    if (!claimed || claimed->uid != invoker->uid) {
        return err(
            fmt::format("PAM_RUSER \"{}\" is not the invoking user {} (uid {})", q.ruser, invoker->name, invoker->uid));
    }
    q.pam_user = std::move(q.user);
    q.user = invoker->name;
    return Ok{};
}

}  // namespace vigil
