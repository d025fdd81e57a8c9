// RFC 6238 time-based one-time codes (HMAC-SHA1), a thin layer over liboath
// that keeps every secret in a Secret and checks a code's shape before
// liboath sees it.
//
//   Result<Secret> raw = random_totp_secret();
//   Result<Secret> b32 = base32_encode(*raw);          // for the otpauth:// URI
//   std::optional<uint64_t> step = matching_step(*raw, "123456", now, settings);
//   if (step && *step > last_accepted_step) accept();   // the caller refuses replays
#ifndef VIGIL_STEP_UP_TOTP_CODE_H
#define VIGIL_STEP_UP_TOTP_CODE_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "result.h"
#include "secret_file.h"
#include "step_up_settings.h"

namespace vigil {

// Bytes of a new secret: 160 bits, the HMAC-SHA1 block RFC 4226 recommends.
inline constexpr size_t kTotpSecretBytes = 20;

// kTotpSecretBytes from the kernel's CSPRNG (getrandom).
Result<Secret> random_totp_secret();

// RFC 4648 base32 without '=' padding, as authenticator apps expect it.
Result<Secret> base32_encode(const Secret& raw);
// Accepts upper or lower case, with or without padding.
Result<Secret> base32_decode(std::string_view text);

// The time step (counter) a code for `now` uses: floor(unix time / period).
uint64_t totp_step(std::chrono::system_clock::time_point now, std::chrono::seconds period);

// The step within now ± settings.skew_steps whose code equals `code`, or
// nullopt. A code that is not exactly settings.digits ASCII digits never
// matches. The comparison takes the same time wherever the codes differ.
std::optional<uint64_t> matching_step(const Secret& secret, std::string_view code,
                                      std::chrono::system_clock::time_point now, const TotpSettings& settings);

// The code for one step; empty on a liboath error. For tests and tools that
// play the authenticator app.
std::string totp_code_for_step(const Secret& secret, uint64_t step, unsigned digits);

}  // namespace vigil

#endif
