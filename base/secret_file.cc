#include "secret_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "fd_io.h"
#include "unique_fd.h"

namespace vigil {

Secret::Secret(std::string_view value) {
    if (value.empty()) return;
    bytes_.reserve(value.size() + 1);  // exactly once: a regrowth would leave a stray copy
    bytes_.assign(value.begin(), value.end());
    bytes_.push_back('\0');
}

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();
        bytes_ = std::move(other.bytes_);
        other.bytes_.clear();
    }
    return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() {
    // OPENSSL_cleanse, unlike memset, is not optimised away before a free.
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.clear();
}

namespace {

// Opens path without following a final symlink and without blocking on a
// FIFO, then applies the StrictModes-style checks to what was opened (fstat,
// not stat, so the file checked is the file read).
Result<UniqueFd> open_secret(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        if (errno == ELOOP) {
            return err(fmt::format("{}: is a symbolic link; point the setting at the file itself", path));
        }
        return err(fmt::format("{}: cannot open: {}", path, strerror(errno)));
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) {
        return err(fmt::format("{}: cannot stat: {}", path, strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) return err(fmt::format("{}: not a regular file", path));
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return err(fmt::format("{}: owned by uid {}; must be owned by root; run chown root {}", path, st.st_uid, path));
    }
    if ((st.st_mode & 077) != 0) {
        return err(fmt::format("{}: mode {:04o}: must not be accessible by group or others; run chmod 600 {}", path,
                               st.st_mode & 07777, path));
    }
    if (st.st_size > static_cast<off_t>(kMaxSecretBytes)) {
        return err(fmt::format("{}: larger than {} bytes; expected a single token", path, kMaxSecretBytes));
    }
    return fd;
}

std::string_view strip_one_newline(std::string_view s) {
    if (s.ends_with("\r\n")) return s.substr(0, s.size() - 2);
    if (s.ends_with('\n')) return s.substr(0, s.size() - 1);
    return s;
}

// Index of the first control byte, or npos.
size_t find_control(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return i;
    }
    return std::string_view::npos;
}

Result<Secret> validated(const std::string& path, std::string_view raw) {
    std::string_view text = strip_one_newline(raw);
    if (text.empty()) return err(fmt::format("{}: is empty", path));
    if (size_t at = find_control(text); at != std::string_view::npos) {
        return err(
            fmt::format("{}: control character or extra line break at byte {}; the file must hold one line", path, at));
    }
    return Secret(text);
}

// buf is one byte larger than allowed, to notice a file that grew after fstat.
Result<Secret> read_validated(const std::string& path, int fd, std::vector<char>& buf) {
    ssize_t n = wire::read_full(fd, buf.data(), buf.size());
    if (n < 0) return err(fmt::format("{}: read failed: {}", path, strerror(errno)));
    if (static_cast<size_t>(n) > kMaxSecretBytes) {
        return err(fmt::format("{}: larger than {} bytes; expected a single token", path, kMaxSecretBytes));
    }
    return validated(path, {buf.data(), static_cast<size_t>(n)});
}

}  // namespace

Status check_secret_file(const std::string& path) {
    auto fd = open_secret(path);
    if (!fd) return fd.error();
    return Ok{};
}

Result<Secret> read_secret_file(const std::string& path) {
    auto fd = open_secret(path);
    if (!fd) return fd.error();
    std::vector<char> buf(kMaxSecretBytes + 1);
    Result<Secret> out = read_validated(path, fd->get(), buf);
    OPENSSL_cleanse(buf.data(), buf.size());  // the Secret now holds the only copy
    return out;
}

}  // namespace vigil
