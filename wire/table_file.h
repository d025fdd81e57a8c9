// Reading the grant table file the way every reader must, vigild and the NSS
// module alike: without following a symlink, blocking on a FIFO or leaking
// the descriptor into a child, and only a file that no one but root (or the
// given owner) can have written.
//
//   vigil::nss::TableText table;
//   if (!vigil::nss::load_valid_table({vigil::nss::kGrantTablePath, 0, time(nullptr)}, table)) return none;
//   for (vigil::nss::RowReader rows(table.text()); ...)
#ifndef VIGIL_WIRE_TABLE_FILE_H
#define VIGIL_WIRE_TABLE_FILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil::nss {

enum class LoadStatus {
    Ok,
    Missing,     // no file: no grants
    CannotOpen,  // any other open() failure; errno says why
    Symlink,     // the path's last component is a symbolic link
    NotRegular,  // a directory, FIFO, device...
    BadOwner,    // owned by someone other than root (or the allowed owner)
    Writable,    // writable by group or others
    TooLarge,    // more than kMaxTableBytes, or grew while being read
    ReadError,   // read() failed; errno says why
    OutOfMemory,
};

// The bytes of one table file, malloc()ed (no operator new in the module)
// and freed exactly once.
class TableText {
public:
    TableText() = default;
    TableText(const TableText&) = delete;
    TableText& operator=(const TableText&) = delete;
    ~TableText();

    std::string_view text() const { return {bytes_ == nullptr ? "" : bytes_, size_}; }
    // Replaces the bytes with a copy of text; false when out of memory.
    bool assign(std::string_view text);

private:
    friend LoadStatus load_table(const char* path, uid_t owner, TableText& out, struct stat* read_from);
    char* bytes_ = nullptr;
    size_t size_ = 0;
};

// Opens path with O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK and checks the file
// it opened (fstat, so the file checked is the file read): a regular file,
// owned by root or by owner, without write permission for group or others,
// at most kMaxTableBytes. Then reads all of it into out. read_from, when
// given, receives the fstat() of the file read.
LoadStatus load_table(const char* path, uid_t owner, TableText& out, struct stat* read_from = nullptr);

// What a lookup reads, and when.
struct TableSource {
    const char* path;
    uid_t owner;  // besides root, who may own the table; the module passes 0 (root only)
    int64_t now;  // seconds since the epoch; a row is ignored from its expiry on
};

}  // namespace vigil::nss

#endif
