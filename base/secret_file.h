// Secrets read from root-only files (the PDP bearer token), held in memory
// that is wiped when it is no longer needed and that never reaches a log.
//
//   Result<Secret> token = read_secret_file("/etc/vigil/pdp.token");
//   if (!token) return token.error();   // "...: mode 0644: must not be ..."
//   send_header("Authorization: Bearer ", token->reveal());
//
// Secret has no operator<< and no fmt formatter on purpose: printing one is a
// compile error, so a token cannot slip into a log line by accident.
#ifndef VIGIL_BASE_SECRET_FILE_H
#define VIGIL_BASE_SECRET_FILE_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace vigil {

// Largest secret file read_secret_file accepts; tokens are a few KiB at most.
inline constexpr size_t kMaxSecretBytes = 16 * 1024;

class Secret {
public:
    Secret() = default;
    // Copies value; the caller wipes its own copy.
    explicit Secret(std::string_view value);
    Secret(Secret&& other) noexcept;
    Secret& operator=(Secret&& other) noexcept;
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret();

    // The bytes themselves. Named so every use is easy to find with grep.
    std::string_view reveal() const { return {c_str(), size()}; }
    // NUL-terminated, for C APIs that copy a string (curl_slist_append).
    const char* c_str() const { return bytes_.empty() ? "" : bytes_.data(); }
    bool empty() const { return bytes_.empty(); }
    size_t size() const { return bytes_.empty() ? 0 : bytes_.size() - 1; }

private:
    void wipe();

    // The value plus a NUL, or nothing. A vector, not a std::string: moving a
    // short std::string copies its bytes out of the inline buffer and leaves
    // them behind, unwiped.
    std::vector<char> bytes_;
};

// Reads a one-line secret. Refuses the file unless it is a regular file (not
// a symlink, FIFO or device), owned by root or the effective uid, with no
// permission bits for group or others (mode & 077 == 0), at most
// kMaxSecretBytes, and non-empty without control characters once one
// trailing newline ("\n" or "\r\n") is stripped: a byte such as CR or LF
// would let the secret inject HTTP header lines. Every error names the path
// and what to do about it.
Result<Secret> read_secret_file(const std::string& path);

// The same ownership and mode checks without reading the contents, for
// secrets another library opens by path (the mTLS client key).
Status check_secret_file(const std::string& path);

}  // namespace vigil

#endif
