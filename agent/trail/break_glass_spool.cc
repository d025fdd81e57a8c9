#include "break_glass_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fd_io.h"
#include "protocol.h"
#include "timestamp.h"
#include "unique_fd.h"

namespace vigil {
namespace {

std::string errno_text() { return std::strerror(errno); }

constexpr uint64_t kLatestAt = 4102444800;  // 2100-01-01T00:00:00Z

// The module copies PAM items as they are; the trail gets them printable
// ASCII (user and host names are; anything else could be an escape for a
// terminal, or bytes that are not UTF-8 and no JSON can hold).
std::string printable(std::string_view v) {
    std::string out(v.substr(0, 256));
    for (char& c : out) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7f) c = '?';
    }
    return out;
}

Result<std::vector<uint8_t>> read_small_file(int dirfd, const char* name) {
    UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return err(fmt::format("cannot open: {}", errno_text()));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return err(fmt::format("cannot stat: {}", errno_text()));
    if (!S_ISREG(st.st_mode) || st.st_uid != 0) return err("not a regular file owned by root");
    if (static_cast<size_t>(st.st_size) > wire::kMaxFrame) return err("larger than one frame");
    std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
    ssize_t n = wire::read_full(fd.get(), bytes.data(), bytes.size());
    if (n != static_cast<ssize_t>(bytes.size())) {
        return err(fmt::format("cannot read: {}", n < 0 ? errno_text() : "short file"));
    }
    return bytes;
}

}  // namespace

Status make_break_glass_dir(const std::string& state_dir) {
    const std::string dir = state_dir + "/" + kBreakGlassDirName;
    // Never through a symbolic link, at either level: whoever planted one
    // would choose where root creates a directory.
    UniqueFd parent(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!parent) return err(fmt::format("{}: cannot open the state directory: {}", state_dir, errno_text()));
    if (::mkdirat(parent.get(), kBreakGlassDirName, 0700) != 0 && errno != EEXIST) {
        return err(fmt::format("{}: cannot create the break-glass spool: {}", dir, errno_text()));
    }
    UniqueFd fd(::openat(parent.get(), kBreakGlassDirName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return err(fmt::format("{}: cannot open the break-glass spool: {}", dir, errno_text()));
    // The module writes only into a directory that is root's alone. Only
    // what differs is changed: vigild.service's seccomp filter
    // (~@privileged) refuses fchown even to the owner it already has.
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return err(fmt::format("{}: cannot stat: {}", dir, errno_text()));
    bool owner_ok = st.st_uid == 0 && st.st_gid == 0;
    if ((!owner_ok && ::fchown(fd.get(), 0, 0) != 0) ||
        ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0)) {
        return err(fmt::format("{}: cannot make the break-glass spool root's, mode 0700: {}", dir, errno_text()));
    }
    return Ok{};
}

Result<BreakGlassUse> parse_break_glass(const std::vector<uint8_t>& bytes) {
    if (bytes.size() < wire::kHeaderSize) return err("shorter than a frame header");
    wire::Header h;
    if (auto s = wire::parse_header(bytes.data(), h); s != wire::HeaderStatus::Ok) return err(wire::describe(s));
    if (h.kind != static_cast<uint16_t>(wire::Kind::BreakGlass)) return err("not a break-glass frame");
    if (h.length != bytes.size() - wire::kHeaderSize) return err("the frame's length does not match the file's");
    BreakGlassUse u;
    wire::Reader r(bytes.data() + wire::kHeaderSize, h.length);
    wire::Tag tag{};
    std::string_view v;
    uint64_t at = 0;
    while (r.next(tag, v)) {
        switch (tag) {
            case wire::Tag::At:
                // The module writes the time of the use: anything past 2100
                // is garbage, and would not fit the clock's nanoseconds.
                if (!wire::parse_decimal(v, kLatestAt, at)) return err("bad time");
                break;
            case wire::Tag::Pid: {
                uint64_t pid = 0;
                if (!wire::parse_decimal(v, INT32_MAX, pid)) return err("bad pid");
                u.pid = static_cast<int64_t>(pid);
                break;
            }
            case wire::Tag::Phase: u.phase = printable(v); break;
            case wire::Tag::User: u.user = printable(v); break;
            case wire::Tag::Service: u.service = printable(v); break;
            case wire::Tag::Rhost: u.rhost = printable(v); break;
            case wire::Tag::Tty: u.tty = printable(v); break;
            case wire::Tag::Group: u.group = printable(v); break;
            case wire::Tag::Error: u.why = printable(v); break;
            default: break;  // a newer module's field
        }
    }
    if (r.malformed()) return err("a field runs past the frame");
    if (at == 0 || u.user.empty()) return err("no time or no user");
    u.at = std::chrono::system_clock::time_point(std::chrono::seconds(at));
    return u;
}

std::vector<BreakGlassUse> take_break_glass_uses(const std::string& dir, std::vector<std::string>& problems) {
    std::vector<BreakGlassUse> out;
    UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dfd) {
        if (errno != ENOENT) problems.push_back(fmt::format("{}: cannot open: {}", dir, errno_text()));
        return out;
    }
    DIR* d = ::fdopendir(::dup(dfd.get()));
    if (d == nullptr) {
        problems.push_back(fmt::format("{}: cannot list: {}", dir, errno_text()));
        return out;
    }
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::string path = dir + "/" + e->d_name;
        auto bytes = read_small_file(dfd.get(), e->d_name);
        auto use = bytes ? parse_break_glass(*bytes) : Result<BreakGlassUse>(bytes.error());
        if (!use) {
            problems.push_back(fmt::format("{}: not a break-glass record ({}); removed", path, use.error().message));
            ::unlinkat(dfd.get(), e->d_name, 0);
            continue;
        }
        use->file = path;
        out.push_back(std::move(*use));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const BreakGlassUse& a, const BreakGlassUse& b) { return a.at < b.at; });
    return out;
}

nlohmann::ordered_json to_json(const BreakGlassUse& u) {
    nlohmann::ordered_json j;
    j["time"] = rfc3339(u.at);
    j["event"] = "break_glass";
    j["recorded_by"] = "pam_vigil";
    j["recorded_at"] = rfc3339(std::chrono::system_clock::now());
    j["phase"] = u.phase;
    j["service"] = u.service;
    j["user"] = u.user;
    j["rhost"] = u.rhost;
    j["tty"] = u.tty;
    j["pid"] = u.pid;
    j["group"] = u.group;
    j["why"] = u.why;
    j["outcome"] = "break_glass";
    return j;
}

}  // namespace vigil
