#include "audit_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "fd_io.h"
#include "sha256.h"
#include "timestamp.h"

namespace vigil {
namespace {

Status make_parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return Ok{};
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
        return err(fmt::format("cannot create {}: {}", dir, strerror(errno)));
    }
    return Ok{};
}

Result<std::string> read_range(int fd, off_t from, size_t len) {
    std::string buf(len, '\0');
    ssize_t n = ::pread(fd, buf.data(), len, from);
    if (n < 0 || static_cast<size_t>(n) != len) return err("short read of the audit log");
    return buf;
}

// The last line of the file, without its newline; empty for an empty file.
// Reads backwards in chunks so a large trail costs little at start-up.
Result<std::string> last_line(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return err(strerror(errno));
    off_t end = st.st_size;
    if (end == 0) return std::string();
    auto tail = read_range(fd, end - 1, 1);
    if (!tail) return tail.error();
    if (*tail == "\n") --end;  // a torn final record (no newline) still counts as a line
    std::string line;
    constexpr off_t kChunk = 65536;
    for (off_t pos = end; pos > 0;) {
        off_t start = pos > kChunk ? pos - kChunk : 0;
        auto chunk = read_range(fd, start, static_cast<size_t>(pos - start));
        if (!chunk) return chunk.error();
        size_t nl = chunk->rfind('\n');
        if (nl != std::string::npos) return chunk->substr(nl + 1) + line;
        line = *chunk + line;
        pos = start;
    }
    return line;
}

Status write_all(int fd, const std::string& data) {
    if (!wire::write_full(fd, data.data(), data.size())) {
        return err(fmt::format("audit write failed: {}", strerror(errno)));
    }
    return Ok{};
}

// Appends data whole, or cuts back off the part of it that reached the file
// (the disk filled mid-line), so the chain never holds a torn record. The
// file's size is read only then, so a write that succeeds costs one
// syscall; vigild is the trail's only writer, so what it cuts is its own.
Status append_whole(int fd, std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        std::string why = n < 0 ? strerror(errno) : "no byte written";
        struct stat st {};
        if (done > 0 && (::fstat(fd, &st) != 0 || ::ftruncate(fd, st.st_size - static_cast<off_t>(done)) != 0)) {
            return err(
                fmt::format("audit write failed: {}; and cutting the torn line off failed: {}", why, strerror(errno)));
        }
        return err(fmt::format("audit write failed: {}", why));
    }
    return Ok{};
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
    if (auto s = make_parent_dir(path); !s) return s.error();
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return err(fmt::format("cannot open audit log {}: {}", path, strerror(errno)));
    struct stat st {};
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return err(fmt::format("audit log {} is not a regular file", path));
    }
    auto last = last_line(fd.get());
    if (!last) return err(fmt::format("cannot read audit log {}: {}", path, last.error().message));
    if (st.st_size > 0) {
        // A record torn by a crash: end it so the next record starts a line.
        auto tail = read_range(fd.get(), st.st_size - 1, 1);
        if (tail && *tail != "\n") {
            if (auto s = write_all(fd.get(), "\n"); !s) return s.error();
        }
    }
    std::string hash = last->empty() ? kGenesisHash : sha256_hex(*last);
    return std::unique_ptr<AuditLog>(new AuditLog(path, std::move(fd), std::move(hash)));
}

AuditLog::AuditLog(std::string path, UniqueFd fd, std::string last_hash)
    : path_(std::move(path)), fd_(std::move(fd)), last_hash_(std::move(last_hash)) {}

Status AuditLog::append(const nlohmann::ordered_json& record) {
    // Invalid UTF-8 from a request (a sudo argv, say) is replaced, not thrown.
    return append_object(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status AuditLog::append_object(std::string_view object) {
    if (object.size() < 2 || object.front() != '{' || object.back() != '}') {
        return err("audit record is not a JSON object");
    }
    std::lock_guard lock(mu_);
    if (lost_ > 0) {
        nlohmann::ordered_json gap = {{"event", "audit_gap"},
                                      {"time", rfc3339(std::chrono::system_clock::now())},
                                      {"lost", lost_},
                                      {"first_lost", rfc3339(first_lost_)},
                                      {"last_lost", rfc3339(last_lost_)},
                                      {"reason", lost_why_}};
        if (auto s = write_line(gap.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)); !s) {
            note_lost(s.error().message);
            return s;
        }
        lost_ = 0;
    }
    if (auto s = write_line(object); !s) {
        note_lost(s.error().message);
        return s;
    }
    return Ok{};
}

uint64_t AuditLog::lost() const {
    std::lock_guard lock(mu_);
    return lost_;
}

// One record as one line, or nothing (append_whole): the object with
// "prev" as its last key.
Status AuditLog::write_line(std::string_view object) {
    line_.assign(object.substr(0, object.size() - 1));
    if (object.size() > 2) line_ += ',';
    line_ += "\"prev\":\"";
    line_ += last_hash_;
    line_ += "\"}\n";
    if (auto s = append_whole(fd_.get(), line_); !s) return s;
    last_hash_ = sha256_hex(std::string_view(line_).substr(0, line_.size() - 1));
    return Ok{};
}

void AuditLog::note_lost(const std::string& why) {
    auto now = std::chrono::system_clock::now();
    if (lost_ == 0) first_lost_ = now;
    last_lost_ = now;
    lost_why_ = why;
    ++lost_;
}

AuditVerdict verify_audit_file(const std::string& path) {
    AuditVerdict v;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        v.problem = fmt::format("cannot open {}", path);
        return v;
    }
    std::string expected = kGenesisHash;
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        auto fail = [&](std::string why) {
            v.bad_line = n;
            v.problem = std::move(why);
            return v;
        };
        auto rec = nlohmann::json::parse(line, nullptr, false);
        if (rec.is_discarded() || !rec.is_object()) return fail("not a JSON object");
        auto prev = rec.find("prev");
        if (prev == rec.end() || !prev->is_string()) return fail("no \"prev\" hash");
        if (*prev != expected) {
            return fail(
                "\"prev\" does not match the line before it: a record was changed, "
                "removed or inserted");
        }
        expected = sha256_hex(line);
        v.records = n;
    }
    v.ok = true;
    return v;
}

}  // namespace vigil
