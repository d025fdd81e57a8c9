// Carves the strings and pointer arrays of a struct passwd or struct group
// out of the buffer the caller of getpwnam_r/getgrnam_r passed. Once
// something does not fit, every later request fails too and full() is true,
// so a filler can write all fields and check once at the end.
//
//   EntryBuffer b(buf, buflen);
//   pw->pw_name = b.copy(row.name);
//   ...
//   if (b.full()) return buffer_too_small(errnop);
#ifndef VIGIL_NSS_ENTRY_BUFFER_H
#define VIGIL_NSS_ENTRY_BUFFER_H

#include <cstddef>
#include <string_view>

namespace vigil::nss {

class EntryBuffer {
public:
    EntryBuffer(char* buf, size_t len) : next_(buf), left_(buf == nullptr ? 0 : len) {}

    // A NUL-terminated copy of s, or nullptr.
    char* copy(std::string_view s);
    // Room for n pointers, aligned for char*, or nullptr.
    char** pointers(size_t n);
    bool full() const { return full_; }

private:
    char* take(size_t n);

    char* next_;
    size_t left_;
    bool full_ = false;
};

}  // namespace vigil::nss

#endif
