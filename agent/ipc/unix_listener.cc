#include "unix_listener.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace vigil {
namespace {

constexpr int kBacklog = 256;

Result<sockaddr_un> address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) return err(fmt::format("{}: socket path too long", path));
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

Status make_parent(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return Ok{};
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return err(fmt::format("cannot create {}: {}", dir, strerror(errno)));
    }
    return Ok{};
}

// Removes a socket left by a dead vigild; refuses to touch anything else.
Status clear_stale(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return Ok{};
    if (!S_ISSOCK(st.st_mode)) return err(fmt::format("{} exists and is not a socket", path));
    if (connect_unix(path)) return err(fmt::format("{}: another vigild is listening there", path));
    if (::unlink(path.c_str()) != 0) return err(fmt::format("cannot remove stale {}: {}", path, strerror(errno)));
    return Ok{};
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& path, mode_t mode) {
    auto addr = address(path);
    if (!addr) return addr.error();
    if (auto s = make_parent(path); !s) return s.error();
    if (auto s = clear_stale(path); !s) return s.error();
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return err(fmt::format("socket: {}", strerror(errno)));
    // Bind under a tight umask so the socket never exists with a wider mode.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
    ::umask(old);
    if (rc != 0) return err(fmt::format("bind {}: {}", path, strerror(errno)));
    if (::chmod(path.c_str(), mode) != 0) return err(fmt::format("chmod {}: {}", path, strerror(errno)));
    if (::listen(fd.get(), kBacklog) != 0) return err(fmt::format("listen {}: {}", path, strerror(errno)));
    return fd;
}

Result<PeerCredentials> peer_credentials(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return err(fmt::format("SO_PEERCRED: {}", strerror(errno)));
    }
    return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

Result<UniqueFd> connect_unix(const std::string& path) {
    auto addr = address(path);
    if (!addr) return addr.error();
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return err(fmt::format("socket: {}", strerror(errno)));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        return err(fmt::format("connect {}: {}", path, strerror(errno)));
    }
    return fd;
}

}  // namespace vigil
