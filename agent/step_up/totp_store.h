// The root-only store of per-user TOTP secrets, and the one place a TOTP
// code is checked: replays, consecutive failures and lockouts live here.
//
//   TotpStore store(config.step_up.totp);
//   TotpCheck c = store.verify("alice", answer, std::chrono::system_clock::now());
//   if (c.verdict != TotpVerdict::Accepted) deny(c.detail);   // detail is safe to log
//
// One small text file per user, store_dir/<user>, mode 0600, in a directory
// owned by root and writable by nobody else; every write is atomic and
// durable (temp file, fsync, rename, fsync of the directory). Each call
// re-checks the directory, so a store an admin loosened is refused at once.
//
// Thread-safe: verify() for one user is serialised inside the process (a
// mutex) and across processes (flock on the user's file), so two concurrent
// checks of one valid code admit exactly one. vigild and `vigilctl totp`
// may use the same store at the same time.
#ifndef VIGIL_STEP_UP_TOTP_STORE_H
#define VIGIL_STEP_UP_TOTP_STORE_H

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "result.h"
#include "secret_file.h"
#include "step_up_settings.h"

namespace vigil {

enum class TotpVerdict { Accepted, Wrong, Replayed, LockedOut, NotEnrolled, StoreError };

// "accepted", "wrong", "replayed", "locked_out", "not_enrolled", "store_error"
const char* to_string(TotpVerdict v);

struct TotpCheck {
    TotpVerdict verdict = TotpVerdict::StoreError;
    std::string detail;                                    // for the admin log/audit: never the code or the secret
    std::chrono::system_clock::time_point locked_until{};  // LockedOut (and the failure that locks)
};

struct TotpEnrollment {
    Secret secret_base32;
    std::string uri;  // otpauth://totp/ISSUER:USER?secret=...&issuer=...&digits=..&period=..&algorithm=SHA1
};

// What `vigilctl totp status` shows; never the secret.
struct TotpStatus {
    bool enrolled = false;
    unsigned failures = 0;                                 // consecutive, since the last accepted code
    std::chrono::system_clock::time_point locked_until{};  // epoch = not locked (or never was)
    uint64_t last_step = 0;                                // time step of the last accepted code; 0 = none
};

class TotpStore {
public:
    explicit TotpStore(TotpSettings settings);
    TotpStore(const TotpStore&) = delete;
    TotpStore& operator=(const TotpStore&) = delete;

    // A new random secret for user. Refuses an existing one unless replace;
    // replacing also clears failures, lockout and the replay marker.
    Result<TotpEnrollment> enroll(const std::string& user, bool replace);
    Status remove(const std::string& user);
    bool enrolled(const std::string& user) const;
    Result<TotpStatus> status(const std::string& user) const;

    // One attempt. Accepted only if the code matches a step newer than the
    // last accepted one (no replay inside the window), and the user is not
    // locked out. Consecutive failures (Wrong, Replayed) count; the
    // lockout_after-th locks for lockout_for (0 = never locks); an Accepted
    // resets the count, and so does the end of a lockout. LockedOut and
    // NotEnrolled do not count. A corrupt file is StoreError.
    TotpCheck verify(const std::string& user, std::string_view code, std::chrono::system_clock::time_point now);

private:
    std::mutex& lock_for(const std::string& user) const;

    TotpSettings settings_;
    // Striped per-user locks: bounded memory whatever names callers send.
    mutable std::array<std::mutex, 31> stripes_;
};

// A user name that is safe as a file name in the store: 1..64 printable
// ASCII characters, no '/', not starting with '.'.
bool valid_totp_user(std::string_view user);

}  // namespace vigil

#endif
