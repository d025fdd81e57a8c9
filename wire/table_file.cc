#include "table_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fd_io.h"
#include "grant_format.h"

namespace vigil::nss {
namespace {

// Closes a descriptor on every path out of load_table.
class FdCloser {
public:
    explicit FdCloser(int fd) : fd_(fd) {}
    FdCloser(const FdCloser&) = delete;
    FdCloser& operator=(const FdCloser&) = delete;
    ~FdCloser() {
        int saved = errno;  // a caller may still want the errno of what failed
        if (fd_ >= 0) ::close(fd_);
        errno = saved;
    }

private:
    int fd_;
};

LoadStatus check_opened(int fd, uid_t owner, struct stat& st) {
    if (::fstat(fd, &st) != 0) return LoadStatus::ReadError;
    if (!S_ISREG(st.st_mode)) return LoadStatus::NotRegular;
    if (st.st_uid != 0 && st.st_uid != owner) return LoadStatus::BadOwner;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return LoadStatus::Writable;
    if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxTableBytes) return LoadStatus::TooLarge;
    return LoadStatus::Ok;
}

}  // namespace

TableText::~TableText() { std::free(bytes_); }

bool TableText::assign(std::string_view text) {
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) return false;
    std::memcpy(copy, text.data(), text.size());
    std::free(bytes_);
    bytes_ = copy;
    size_ = text.size();
    return true;
}

LoadStatus load_table(const char* path, uid_t owner, TableText& out, struct stat* read_from) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return LoadStatus::Missing;
        return errno == ELOOP ? LoadStatus::Symlink : LoadStatus::CannotOpen;
    }
    FdCloser closer(fd);
    struct stat st {};
    if (LoadStatus s = check_opened(fd, owner, st); s != LoadStatus::Ok) return s;
    // One byte more than fstat promised, to notice a file that grew.
    size_t cap = static_cast<size_t>(st.st_size) + 1;
    char* bytes = static_cast<char*>(std::malloc(cap));
    if (bytes == nullptr) return LoadStatus::OutOfMemory;
    ssize_t n = wire::read_full(fd, bytes, cap);
    if (n < 0 || static_cast<size_t>(n) == cap) {
        std::free(bytes);
        return n < 0 ? LoadStatus::ReadError : LoadStatus::TooLarge;
    }
    std::free(out.bytes_);
    out.bytes_ = bytes;
    out.size_ = static_cast<size_t>(n);
    if (read_from != nullptr) *read_from = st;
    return LoadStatus::Ok;
}

}  // namespace vigil::nss
