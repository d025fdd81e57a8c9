#include "entry_buffer.h"

#include <cstdint>
#include <cstring>

namespace vigil::nss {

char* EntryBuffer::take(size_t n) {
    if (full_ || n > left_) {
        full_ = true;
        return nullptr;
    }
    char* p = next_;
    next_ += n;
    left_ -= n;
    return p;
}

char* EntryBuffer::copy(std::string_view s) {
    char* p = take(s.size() + 1);
    if (p == nullptr) return nullptr;
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p;
}

char** EntryBuffer::pointers(size_t n) {
    // The caller's buffer is a char[]: skip to the next pointer boundary.
    size_t misalign = reinterpret_cast<uintptr_t>(next_) % alignof(char*);
    if (misalign != 0 && take(alignof(char*) - misalign) == nullptr) return nullptr;
    if (n > left_ / sizeof(char*)) {
        full_ = true;
        return nullptr;
    }
    return reinterpret_cast<char**>(take(n * sizeof(char*)));
}

}  // namespace vigil::nss
