#include "trusted_path.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace vigil::posture {
namespace {

// As many as the kernel follows in one lookup (MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> out;
    size_t at = 0;
    while (at <= path.size()) {
        size_t slash = path.find('/', at);
        if (slash == std::string::npos) slash = path.size();
        std::string part = path.substr(at, slash - at);
        if (!part.empty() && part != ".") out.push_back(std::move(part));
        at = slash + 1;
    }
    return out;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

std::string mode_text(const struct stat& st) { return fmt::format("{:04o}", st.st_mode & 07777); }

// Who could write here besides the owner, or "" when nobody untrusted can.
std::string untrusted_writer(const struct stat& st, const TrustedIds& ids, bool sticky_ok) {
    bool sticky = sticky_ok && (st.st_mode & S_ISVTX);
    if ((st.st_mode & S_IWOTH) && !sticky) return fmt::format("is writable by others (mode {})", mode_text(st));
    if ((st.st_mode & S_IWGRP) && !sticky && !ids.trusts_gid(st.st_gid)) {
        return fmt::format("is writable by group {}, which is not trusted (mode {})", st.st_gid, mode_text(st));
    }
    return "";
}

// Empty when st may stand on the way to evidence (a directory) or be it.
std::string judge(const struct stat& st, const TrustedIds& ids, bool directory) {
    if (!ids.trusts_uid(st.st_uid)) return fmt::format("is owned by uid {}, not {}", st.st_uid, ids.described);
    if (directory) return untrusted_writer(st, ids, true);
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
    return untrusted_writer(st, ids, false);
}

class Walker {
public:
    Walker(const std::string& path, const TrustedIds& ids) : path_(path), ids_(ids) {}

    Result<std::optional<UniqueFd>> open(int flags) {
        if (path_.empty() || path_[0] != '/') return err(fmt::format("{}: not an absolute path", path_));
        if (auto ok = restart_at_root(); !ok) return ok.error();
        auto todo = components(path_);
        int links = 0;
        while (!todo.empty()) {
            std::string name = std::move(todo.front());
            todo.pop_front();
            UniqueFd fd(::openat(dir_.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!fd) {
                if (errno == ENOENT || errno == ENOTDIR) return std::optional<UniqueFd>{};
                return err(fmt::format("{}: cannot open {}: {}", path_, here(name), std::strerror(errno)));
            }
            struct stat st {};
            if (::fstat(fd.get(), &st) != 0)
                return err(fmt::format("{}: cannot stat: {}", path_, std::strerror(errno)));
            if (S_ISLNK(st.st_mode)) {
                if (++links > kMaxSymlinks)
                    return err(fmt::format("{}: more than {} symbolic links", path_, kMaxSymlinks));
                auto followed = follow(fd.get(), todo);
                if (!followed) return followed.error();
                continue;
            }
            if (name == "..") {
                if (!walked_.empty()) walked_.pop_back();
            } else {
                walked_.push_back(name);
            }
            bool last = todo.empty();
            if (!last && !S_ISDIR(st.st_mode)) return std::optional<UniqueFd>{};  // as open(2) would: ENOTDIR
            if (auto why = judge(st, ids_, !last); !why.empty()) return refused(why);
            if (last) return open_checked(name, st, flags);
            dir_ = std::move(fd);
        }
        return err(fmt::format("{}: names a directory, not a file", path_));
    }

private:
    Status restart_at_root() {
        walked_.clear();
        dir_ = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir_) return err(fmt::format("cannot open /: {}", std::strerror(errno)));
        struct stat st {};
        if (::fstat(dir_.get(), &st) != 0) return err(fmt::format("cannot stat /: {}", std::strerror(errno)));
        if (auto why = judge(st, ids_, true); !why.empty()) return refused(why).error();
        return Ok{};
    }

    // A link's target replaces it on the path still to walk; an absolute one
    // starts again at /.
    Status follow(int link_fd, std::deque<std::string>& todo) {
        char target[4096];
        ssize_t n = ::readlinkat(link_fd, "", target, sizeof target);
        if (n < 0 || static_cast<size_t>(n) >= sizeof target) {
            return err(fmt::format("{}: cannot read a symbolic link on its path", path_));
        }
        std::string to(target, static_cast<size_t>(n));
        auto parts = components(to);
        todo.insert(todo.begin(), parts.begin(), parts.end());
        if (!to.empty() && to[0] == '/') return restart_at_root();
        return Ok{};
    }

    // Opens the file that passed, and makes sure it is still the same one.
    // O_NONBLOCK: should a FIFO be swapped in after the check, the open
    // returns at once (and the inode comparison refuses it) instead of
    // hanging the collector; it changes nothing for a regular file.
    Result<std::optional<UniqueFd>> open_checked(const std::string& name, const struct stat& checked, int flags) {
        if ((flags & O_PATH) == 0) flags |= O_NOCTTY | O_NONBLOCK;
        UniqueFd fd(::openat(dir_.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return err(fmt::format("cannot open {}: {}", path_, std::strerror(errno)));
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return err(fmt::format("cannot stat {}: {}", path_, std::strerror(errno)));
        if (st.st_dev != checked.st_dev || st.st_ino != checked.st_ino) {
            return err(fmt::format("{}: replaced while it was being checked", path_));
        }
        return std::optional<UniqueFd>(std::move(fd));
    }

    std::string here(const std::string& name) const {
        auto parts = walked_;
        parts.push_back(name);
        return joined(parts);
    }

    Result<std::optional<UniqueFd>> refused(const std::string& why) const {
        std::string where = joined(walked_);
        if (where == path_) return err(fmt::format("{}: refused: it {}", path_, why));
        return err(fmt::format("{}: refused: {} {}", path_, where, why));
    }

    const std::string& path_;
    const TrustedIds& ids_;
    UniqueFd dir_;
    std::vector<std::string> walked_;  // the resolved path so far, for messages
};

}  // namespace

Result<std::optional<UniqueFd>> open_trusted(const std::string& path, const TrustedIds& ids, int flags) {
    return Walker(path, ids).open(flags);
}

Status check_trusted_program(const std::string& path, const TrustedIds& ids) {
    auto fd = open_trusted(path, ids, O_PATH);
    if (!fd) return fd.error();
    if (!*fd) return err(fmt::format("{} not found", path));
    return Ok{};
}

}  // namespace vigil::posture
