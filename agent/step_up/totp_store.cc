#include "totp_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "decimal.h"
#include "fd_io.h"
#include "timestamp.h"
#include "totp_code.h"
#include "unique_fd.h"

namespace vigil {
namespace {

using Clock = std::chrono::system_clock;

// A record is four short lines; anything much larger is not one of ours.
constexpr size_t kMaxRecordBytes = 4096;
// Shortest secret accepted from a file: 80 bits, what google-authenticator
// writes. Below RFC 4226's 128-bit minimum, but imported secrets of that size
// are common; enroll() always makes 160 bits.
constexpr size_t kMinSecretBytes = 10;
constexpr size_t kMaxUserLength = 64;
// How long to wait for another process (vigilctl, or vigild while vigilctl
// runs) holding a user's file lock before answering StoreError.
constexpr auto kLockWait = std::chrono::seconds(2);
constexpr int kReopenAttempts = 8;

// One user's file, parsed. The secret is raw bytes.
struct Record {
    Secret secret;
    uint64_t last_step = 0;
    unsigned failures = 0;
    int64_t locked_until = 0;  // unix seconds; 0 = not locked
};

int64_t unix_seconds(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Clock::time_point from_unix(int64_t s) { return Clock::time_point(std::chrono::seconds(s)); }

std::string errno_text() { return std::strerror(errno); }

// ---------------------------------------------------------------- files ----

// Checks what was opened (fstat, not stat: the file checked is the file used).
Status check_owner_and_mode(const struct stat& st, const std::string& path, mode_t forbidden, const char* fix) {
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return err(fmt::format("{}: owned by uid {}; must be owned by root; run chown root {}", path, st.st_uid, path));
    }
    if ((st.st_mode & forbidden) != 0) {
        return err(fmt::format(
            "{}: mode {:04o}: {}; run chmod {} {}", path, st.st_mode & 07777,
            forbidden == 077 ? "must not be accessible by group or others" : "must not be writable by group or others",
            fix, path));
    }
    return Ok{};
}

// Creates the missing directories of an absolute path, 0700 like vigild's state_dir.
Status make_dirs(const std::string& dir) {
    for (size_t at = dir.find('/', 1);; at = dir.find('/', at + 1)) {
        std::string prefix = dir.substr(0, at);
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
            return err(fmt::format("{}: cannot create: {}", prefix, errno_text()));
        }
        if (at == std::string::npos) return Ok{};
    }
}

// The store directory, opened without following a symlink and checked like
// sshd's StrictModes. With create = false a missing directory is an empty fd.
Result<UniqueFd> open_store_dir(const std::string& dir, bool create) {
    if (dir.empty() || dir[0] != '/') return err(fmt::format("TOTP store_dir \"{}\" must be an absolute path", dir));
    if (create) {
        if (auto s = make_dirs(dir); !s) return s.error();
    }
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && errno == ENOENT && !create) return UniqueFd();
    if (!fd && (errno == ELOOP || errno == ENOTDIR)) {
        return err(fmt::format("{}: is a symbolic link or not a directory; point store_dir at a real directory", dir));
    }
    if (!fd) return err(fmt::format("{}: cannot open: {}", dir, errno_text()));
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return err(fmt::format("{}: cannot stat: {}", dir, errno_text()));
    if (auto s = check_owner_and_mode(st, dir, 022, "700"); !s) return s.error();
    return fd;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

Status check_record_file(int fd, const std::string& path) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return err(fmt::format("{}: cannot stat: {}", path, errno_text()));
    if (!S_ISREG(st.st_mode)) return err(fmt::format("{}: not a regular file", path));
    if (auto s = check_owner_and_mode(st, path, 077, "600"); !s) return s;
    if (st.st_size > static_cast<off_t>(kMaxRecordBytes)) {
        return err(fmt::format("{}: larger than {} bytes; not a TOTP record", path, kMaxRecordBytes));
    }
    return Ok{};
}

// flock with a deadline, so a stuck holder costs one answer, not a thread.
Status lock_file(int fd, const std::string& path) {
    auto deadline = std::chrono::steady_clock::now() + kLockWait;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) return err(fmt::format("{}: cannot lock: {}", path, errno_text()));
        if (std::chrono::steady_clock::now() >= deadline) {
            return err(fmt::format("{}: still locked by another process after {}s", path, kLockWait.count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Ok{};
}

// Is fd (locked) still the file named `name`? A writer replaces the file by
// rename, so a lock taken on the old one protects nothing.
Result<bool> still_linked(int dirfd, int fd, const std::string& name, const std::string& path) {
    struct stat mine {
    }, named{};
    if (fstat(fd, &mine) != 0) return err(fmt::format("{}: cannot stat: {}", path, errno_text()));
    if (fstatat(dirfd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return false;
        return err(fmt::format("{}: cannot stat: {}", path, errno_text()));
    }
    return same_file(mine, named);
}

// Opens store_dir/user and holds an exclusive flock on it until the fd is
// closed. An empty fd means the user has no file.
Result<UniqueFd> open_locked(int dirfd, const std::string& user, const std::string& path) {
    for (int attempt = 0; attempt < kReopenAttempts; ++attempt) {
        UniqueFd fd(::openat(dirfd, user.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
        if (!fd && errno == ENOENT) return UniqueFd();
        if (!fd && errno == ELOOP) return err(fmt::format("{}: is a symbolic link; refusing it", path));
        if (!fd) return err(fmt::format("{}: cannot open: {}", path, errno_text()));
        if (auto s = check_record_file(fd.get(), path); !s) return s.error();
        if (auto s = lock_file(fd.get(), path); !s) return s.error();
        auto linked = still_linked(dirfd, fd.get(), user, path);
        if (!linked) return linked.error();
        if (*linked) return fd;
    }
    return err(fmt::format("{}: replaced {} times while opening it", path, kReopenAttempts));
}

Status write_all(int fd, std::string_view text) {
    if (!wire::write_full(fd, text.data(), text.size())) return err(errno_text());
    return Ok{};
}

// Reads at most kMaxRecordBytes + 1 bytes; the caller wipes the buffer.
Result<size_t> read_all(int fd, std::vector<char>& buf) {
    ssize_t n = wire::read_full(fd, buf.data(), buf.size());
    if (n < 0) return err(errno_text());
    return static_cast<size_t>(n);
}

// --------------------------------------------------------------- record ----

// One "key=value" line into r. Errors never quote the line: it may be the secret.
Status parse_line(std::string_view line, Record& r, unsigned& seen) {
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return err("not key=value");
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    static const std::string_view kKeys[] = {"secret", "last_step", "failures", "locked_until"};
    unsigned bit = 0;
    while (bit < 4 && kKeys[bit] != key) ++bit;
    if (bit == 4) return err("unknown key");
    if (seen & (1u << bit)) return err(fmt::format("{} given twice", key));
    seen |= 1u << bit;
    bool ok = true;
    switch (bit) {
        case 0: {
            auto raw = base32_decode(value);
            ok = raw && raw->size() >= kMinSecretBytes;
            if (ok) r.secret = std::move(*raw);
            break;
        }
        case 1: ok = wire::parse_decimal_as(value, r.last_step); break;
        case 2: ok = wire::parse_decimal_as(value, r.failures); break;
        default: ok = wire::parse_decimal_as(value, r.locked_until) && r.locked_until >= 0; break;
    }
    if (!ok) return err(fmt::format("bad {}", key));
    return Ok{};
}

Result<Record> parse_record(std::string_view text, const std::string& path) {
    Record r;
    unsigned seen = 0;
    size_t line_no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        if (nl == std::string_view::npos) return err(fmt::format("{}: corrupt TOTP record: no final newline", path));
        ++line_no;
        if (auto s = parse_line(text.substr(0, nl), r, seen); !s) {
            return err(fmt::format("{}: corrupt TOTP record: line {}: {}", path, line_no, s.error().message));
        }
        text.remove_prefix(nl + 1);
    }
    if (seen != 0xf) return err(fmt::format("{}: corrupt TOTP record: a key is missing", path));
    return r;
}

Result<Record> read_record(int fd, const std::string& path) {
    std::vector<char> buf(kMaxRecordBytes + 1);
    auto n = read_all(fd, buf);
    Result<Record> out = err(fmt::format("{}: larger than {} bytes; not a TOTP record", path, kMaxRecordBytes));
    if (!n) {
        out = err(fmt::format("{}: read failed: {}", path, n.error().message));
    } else if (*n <= kMaxRecordBytes) {
        out = parse_record({buf.data(), *n}, path);
    }
    OPENSSL_cleanse(buf.data(), buf.size());
    return out;
}

Result<std::string> format_record(const Record& r) {
    auto b32 = base32_encode(r.secret);
    if (!b32) return b32.error();
    std::string counters =
        fmt::format("last_step={}\nfailures={}\nlocked_until={}\n", r.last_step, r.failures, r.locked_until);
    // Sized once and appended by hand: fmt's growing buffers would leave copies of the secret behind.
    std::string out;
    out.reserve(8 + b32->size() + counters.size());
    out.append("secret=").append(b32->reveal()).append("\n").append(counters);
    return out;
}

// A temp name no user file can have: user names never start with '.'.
std::string temp_name(const std::string& user) {
    static std::atomic<unsigned> counter{0};
    return fmt::format(".{}.tmp.{}.{}", user, getpid(), counter++);
}

Status write_temp(int dirfd, const std::string& name, std::string_view text) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return err(fmt::format("cannot create {}: {}", name, errno_text()));
    if (::fchmod(fd.get(), 0600) != 0) return err(fmt::format("chmod {}: {}", name, errno_text()));
    if (auto s = write_all(fd.get(), text); !s) return err(fmt::format("write {}: {}", name, s.error().message));
    if (::fsync(fd.get()) != 0) return err(fmt::format("fsync {}: {}", name, errno_text()));
    return Ok{};
}

// Replaces (or, with exclusive, creates) store_dir/user atomically and durably.
Status write_record(int dirfd, const std::string& user, const Record& r, bool exclusive, const std::string& path) {
    auto text = format_record(r);
    if (!text) return err(fmt::format("{}: {}", path, text.error().message));
    std::string tmp = temp_name(user);
    Status written = write_temp(dirfd, tmp, *text);
    OPENSSL_cleanse(text->data(), text->size());
    int rc = -1;
    if (written) rc = ::renameat2(dirfd, tmp.c_str(), dirfd, user.c_str(), exclusive ? RENAME_NOREPLACE : 0);
    if (rc != 0) {
        int saved = errno;
        ::unlinkat(dirfd, tmp.c_str(), 0);
        if (!written) return err(fmt::format("{}: {}", path, written.error().message));
        if (saved == EEXIST) return err(fmt::format("{}: {} is already enrolled", path, user));
        return err(fmt::format("{}: rename failed: {}", path, std::strerror(saved)));
    }
    if (::fsync(dirfd) != 0) return err(fmt::format("{}: fsync of the directory failed: {}", path, errno_text()));
    return Ok{};
}

// ---------------------------------------------------------------- judge ----

TotpCheck failure(Record& r, TotpVerdict verdict, std::string detail, Clock::time_point now, const TotpSettings& s) {
    ++r.failures;
    TotpCheck c{verdict, fmt::format("{} (failure {} in a row)", detail, r.failures), {}};
    if (s.lockout_after > 0 && r.failures >= s.lockout_after) {
        r.locked_until = unix_seconds(now + s.lockout_for);
        c.locked_until = from_unix(r.locked_until);
        c.detail += fmt::format("; locked out until {}", rfc3339(c.locked_until));
    }
    return c;
}

// Decides one attempt and updates r; the caller persists r unless LockedOut.
TotpCheck judge(Record& r, std::string_view code, Clock::time_point now, const TotpSettings& s) {
    if (r.locked_until > unix_seconds(now)) {
        return {
            TotpVerdict::LockedOut,
            fmt::format("locked out until {} after {} failed codes", rfc3339(from_unix(r.locked_until)), r.failures),
            from_unix(r.locked_until)};
    }
    if (r.locked_until != 0) {  // the lockout is over: a fresh run of attempts
        r.locked_until = 0;
        r.failures = 0;
    }
    auto step = matching_step(r.secret, code, now, s);
    if (!step) return failure(r, TotpVerdict::Wrong, "code does not match", now, s);
    if (*step <= r.last_step) {
        return failure(r, TotpVerdict::Replayed,
                       fmt::format("code for time step {} already used (last accepted step {})", *step, r.last_step),
                       now, s);
    }
    r.last_step = *step;
    r.failures = 0;
    return {TotpVerdict::Accepted, fmt::format("code matched time step {}", *step), {}};
}

// ------------------------------------------------------------ enrolment ----

std::string percent_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string otpauth_uri(const TotpSettings& s, const std::string& user, std::string_view secret_base32) {
    std::string issuer = percent_encode(s.issuer);
    return fmt::format("otpauth://totp/{}:{}?secret={}&issuer={}&digits={}&period={}&algorithm=SHA1", issuer,
                       percent_encode(user), secret_base32, issuer, s.digits, s.period.count());
}

Error invalid_user(const std::string& user) {
    return err(
        fmt::format("invalid user name \"{}\": want 1 to {} printable ASCII characters, no '/' or space, "
                    "not starting with '.'",
                    user, kMaxUserLength));
}

TotpCheck store_error(std::string detail) { return {TotpVerdict::StoreError, std::move(detail), {}}; }

}  // namespace

const char* to_string(TotpVerdict v) {
    switch (v) {
        case TotpVerdict::Accepted: return "accepted";
        case TotpVerdict::Wrong: return "wrong";
        case TotpVerdict::Replayed: return "replayed";
        case TotpVerdict::LockedOut: return "locked_out";
        case TotpVerdict::NotEnrolled: return "not_enrolled";
        case TotpVerdict::StoreError: return "store_error";
    }
    return "store_error";
}

bool valid_totp_user(std::string_view user) {
    if (user.empty() || user.size() > kMaxUserLength || user[0] == '.') return false;
    for (unsigned char c : user) {
        if (c <= 0x20 || c >= 0x7f || c == '/') return false;
    }
    return true;
}

TotpStore::TotpStore(TotpSettings settings) : settings_(std::move(settings)) {}

std::mutex& TotpStore::lock_for(const std::string& user) const {
    return stripes_[std::hash<std::string>{}(user) % stripes_.size()];
}

Result<TotpEnrollment> TotpStore::enroll(const std::string& user, bool replace) {
    if (!valid_totp_user(user)) return invalid_user(user);
    std::lock_guard guard(lock_for(user));
    auto dir = open_store_dir(settings_.store_dir, true);
    if (!dir) return dir.error();
    std::string path = settings_.store_dir + "/" + user;
    auto existing = open_locked(dir->get(), user, path);  // held across the rename below
    if (!existing) return existing.error();
    if (*existing && !replace) return err(fmt::format("{}: {} is already enrolled", path, user));
    auto raw = random_totp_secret();
    if (!raw) return raw.error();
    auto b32 = base32_encode(*raw);
    if (!b32) return b32.error();
    Record r{std::move(*raw), 0, 0, 0};
    if (auto s = write_record(dir->get(), user, r, !*existing, path); !s) return s.error();
    std::string uri = otpauth_uri(settings_, user, b32->reveal());
    return TotpEnrollment{std::move(*b32), std::move(uri)};
}

Status TotpStore::remove(const std::string& user) {
    if (!valid_totp_user(user)) return invalid_user(user);
    std::lock_guard guard(lock_for(user));
    auto dir = open_store_dir(settings_.store_dir, false);
    if (!dir) return dir.error();
    std::string path = settings_.store_dir + "/" + user;
    if (!*dir) return err(fmt::format("{}: {} is not enrolled", path, user));
    auto file = open_locked(dir->get(), user, path);
    if (!file) return file.error();
    if (!*file) return err(fmt::format("{}: {} is not enrolled", path, user));
    if (::unlinkat(dir->get(), user.c_str(), 0) != 0)
        return err(fmt::format("{}: cannot remove: {}", path, errno_text()));
    if (::fsync(dir->get()) != 0) return err(fmt::format("{}: fsync of the directory failed: {}", path, errno_text()));
    return Ok{};
}

Result<TotpStatus> TotpStore::status(const std::string& user) const {
    if (!valid_totp_user(user)) return invalid_user(user);
    std::lock_guard guard(lock_for(user));
    auto dir = open_store_dir(settings_.store_dir, false);
    if (!dir) return dir.error();
    if (!*dir) return TotpStatus{};
    std::string path = settings_.store_dir + "/" + user;
    auto file = open_locked(dir->get(), user, path);
    if (!file) return file.error();
    if (!*file) return TotpStatus{};
    auto r = read_record(file->get(), path);
    if (!r) return r.error();
    return TotpStatus{true, r->failures, r->locked_until ? from_unix(r->locked_until) : Clock::time_point{},
                      r->last_step};
}

bool TotpStore::enrolled(const std::string& user) const {
    auto s = status(user);
    return s && s->enrolled;
}

TotpCheck TotpStore::verify(const std::string& user, std::string_view code, Clock::time_point now) {
    if (!valid_totp_user(user)) return {TotpVerdict::NotEnrolled, "user name not valid for the TOTP store", {}};
    std::lock_guard guard(lock_for(user));
    auto dir = open_store_dir(settings_.store_dir, false);
    if (!dir) return store_error(dir.error().message);
    std::string path = settings_.store_dir + "/" + user;
    if (!*dir) return {TotpVerdict::NotEnrolled, fmt::format("{}: no TOTP store yet", settings_.store_dir), {}};
    auto file = open_locked(dir->get(), user, path);
    if (!file) return store_error(file.error().message);
    if (!*file) return {TotpVerdict::NotEnrolled, fmt::format("{}: {} has no TOTP secret", path, user), {}};
    auto r = read_record(file->get(), path);
    if (!r) return store_error(r.error().message);
    TotpCheck c = judge(*r, code, now, settings_);
    if (c.verdict == TotpVerdict::LockedOut) return c;
    // An Accepted that is not on disk could be replayed: persisting is part of the verdict.
    if (auto s = write_record(dir->get(), user, *r, false, path); !s) return store_error(s.error().message);
    return c;
}

}  // namespace vigil
