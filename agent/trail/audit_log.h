// The decision trail: an append-only JSON-lines file in which every record
// carries "prev", the SHA-256 of the line before it (64 zeros for the first),
// so removing or changing any record breaks the chain.
//
// A record that cannot be written (disk full, I/O error) leaves no torn line
// behind, and is not forgotten: the next record that can be written is
// preceded by an "audit_gap" record saying how many were lost, and when.
//
//   auto log = AuditLog::open("/var/log/vigil/audit.jsonl");
//   (*log)->append(record);                      // record: ordered_json object
//   (*log)->append_object(json_text(decision));  // or the object's compact text
//   AuditVerdict v = verify_audit_file(path);    // vigilctl audit verify
#ifndef VIGIL_TRAIL_AUDIT_LOG_H
#define VIGIL_TRAIL_AUDIT_LOG_H

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "result.h"
#include "unique_fd.h"

namespace vigil {

inline const std::string kGenesisHash(64, '0');

class AuditLog {
public:
    // Creates the file (0600) and its directory (0750) if missing; refuses a
    // symlink at the path. Picks up the chain from the file's last line.
    static Result<std::unique_ptr<AuditLog>> open(const std::string& path);

    // Adds "prev" and writes the record as one line, after an "audit_gap"
    // record when earlier appends failed. Thread-safe.
    Status append(const nlohmann::ordered_json& record);
    // The same for a record already written as one compact JSON object
    // ("{...}", no newline; JsonWriter): "prev" goes before its last '}'.
    Status append_object(std::string_view object);

    // Records that could not be written and no gap record counts yet.
    uint64_t lost() const;

    const std::string& path() const { return path_; }

private:
    AuditLog(std::string path, UniqueFd fd, std::string last_hash);

    Status write_line(std::string_view object);
    void note_lost(const std::string& why);

    std::string path_;
    mutable std::mutex mu_;
    UniqueFd fd_;
    std::string last_hash_;
    std::string line_;  // the line being written, reused
    uint64_t lost_ = 0;
    std::chrono::system_clock::time_point first_lost_;
    std::chrono::system_clock::time_point last_lost_;
    std::string lost_why_;
};

struct AuditVerdict {
    bool ok = false;
    size_t records = 0;
    size_t bad_line = 0;  // 1-based; 0 when ok
    std::string problem;
};

AuditVerdict verify_audit_file(const std::string& path);

}  // namespace vigil

#endif
