#include "invoker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "identity.h"
#include "unique_fd.h"

namespace vigil {

AccountLookups nss_accounts() {
    return {[](uid_t uid) -> std::optional<std::string> {
                auto a = account_by_uid(uid);
                return a ? std::optional<std::string>(a->name) : std::nullopt;
            },
            [](const std::string& name) -> std::optional<uid_t> {
                std::vector<char> buf(16384);
                passwd pw{};
                passwd* found = nullptr;
                if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
                    return std::nullopt;
                }
                return found->pw_uid;
            }};
}

bool subject_is_invoker(const std::string& service) {
    return service == "sudo" || service == "sudo-i" || service == "su" || service == "su-l";
}

// "Uid:\t<real>\t<effective>\t<saved>\t<fs>" (proc(5)), among the first
// lines of the status file: one read of a page holds it (the kernel
// formats the whole file on each read, so a stream's small reads cost more).
Result<uid_t> real_uid_of(pid_t pid, const std::string& proc) {
    std::string path = fmt::format("{}/{}/status", proc, pid);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return err(fmt::format("cannot read {}", path));
    char buf[4096];
    size_t n = 0;
    while (n < sizeof buf) {
        ssize_t got = ::read(fd.get(), buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return err(fmt::format("cannot read {}", path));
        if (got == 0) break;
        n += static_cast<size_t>(got);
    }
    std::string_view text(buf, n);
    size_t at = text.starts_with("Uid:") ? 0 : text.find("\nUid:");
    if (at != std::string_view::npos) {
        std::string_view line = text.substr(at + (text[at] == '\n' ? 5 : 4));
        line = line.substr(0, line.find('\n'));
        size_t start = line.find_first_not_of(" \t");
        uid_t uid = 0;
        if (start != std::string_view::npos) {
            const char* first = line.data() + start;
            auto [end, ec] = std::from_chars(first, line.data() + line.size(), uid);
            bool ends_field = end == line.data() + line.size() || *end == '\t' || *end == ' ';
            if (ec == std::errc() && ends_field && uid != static_cast<uid_t>(-1)) return uid;
        }
    }
    return err(fmt::format("{} has no readable Uid line", path));
}

Status resolve_invoker(Request& q, const std::string& proc, const AccountLookups& accounts) {
    if (!subject_is_invoker(q.service)) return Ok{};
    if (!q.peer) return err("no peer credentials to name the invoking user by");
    // The peer is the process that asked and is waiting for this answer: its
    // pid cannot have been reused while the connection is open.
    auto uid = real_uid_of(q.peer->pid, proc);
    if (!uid) return uid.error();
    auto invoker = accounts.name_of(*uid);
    if (!invoker) return err(fmt::format("the invoking uid {} has no user name", *uid));
    if (q.ruser.empty()) return err(fmt::format("{} set no PAM_RUSER to check the invoking user against", q.service));
    auto claimed = accounts.uid_of(q.ruser);
    if (!claimed || *claimed != *uid) {
        return err(fmt::format("PAM_RUSER \"{}\" is not the invoking user {} (uid {})", q.ruser, *invoker, *uid));
    }
    q.pam_user = std::move(q.user);
    q.user = *invoker;
    return Ok{};
}

}  // namespace vigil
