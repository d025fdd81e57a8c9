#include "totp_code.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "random_bytes.h"

namespace vigil {
namespace {

// oath_init sets up the crypto backend and is not itself thread-safe; a
// function-local static runs it exactly once, whichever thread comes first.
bool oath_ready() {
    static const bool ok = oath_init() == OATH_OK;
    return ok;
}

// Takes a buffer liboath malloc'ed: wipes and frees it on scope exit.
struct OathBuffer {
    char* data = nullptr;
    size_t size = 0;
    OathBuffer() = default;
    OathBuffer(const OathBuffer&) = delete;
    OathBuffer& operator=(const OathBuffer&) = delete;
    ~OathBuffer() {
        if (data == nullptr) return;
        OPENSSL_cleanse(data, size);
        std::free(data);
    }
};

bool all_digits(std::string_view code, unsigned digits) {
    return code.size() == digits && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// liboath's comparison hook; strcmp would stop at the first differing digit.
int constant_time_compare(void* handle, const char* candidate) {
    auto* code = static_cast<const std::string_view*>(handle);
    if (std::strlen(candidate) != code->size()) return 1;
    return CRYPTO_memcmp(code->data(), candidate, code->size()) == 0 ? 0 : 1;
}

}  // namespace

Result<Secret> random_totp_secret() {
    char raw[kTotpSecretBytes];
    if (!random_bytes(raw, sizeof raw)) return err(std::string("getrandom failed: ") + std::strerror(errno));
    Secret out(std::string_view(raw, sizeof raw));
    OPENSSL_cleanse(raw, sizeof raw);
    return out;
}

Result<Secret> base32_encode(const Secret& raw) {
    if (!oath_ready()) return err("liboath failed to initialise");
    OathBuffer out;
    if (oath_base32_encode(raw.c_str(), raw.size(), &out.data, &out.size) != OATH_OK) {
        return err("base32 encoding failed");
    }
    std::string_view text(out.data, out.size);
    while (text.ends_with('=')) text.remove_suffix(1);
    return Secret(text);
}

Result<Secret> base32_decode(std::string_view text) {
    if (!oath_ready()) return err("liboath failed to initialise");
    if (text.empty()) return err("empty base32 secret");
    // liboath wants upper case and complete 8-character groups.
    std::vector<char> padded(text.begin(), text.end());
    for (char& c : padded) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    while (padded.size() % 8 != 0) padded.push_back('=');
    OathBuffer out;
    int rc = oath_base32_decode(padded.data(), padded.size(), &out.data, &out.size);
    OPENSSL_cleanse(padded.data(), padded.size());
    if (rc != OATH_OK || out.size == 0) return err("not a valid base32 secret");
    return Secret(std::string_view(out.data, out.size));
}

uint64_t totp_step(std::chrono::system_clock::time_point now, std::chrono::seconds period) {
    auto unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (unix_seconds < 0 || period.count() <= 0) return 0;
    return static_cast<uint64_t>(unix_seconds) / static_cast<uint64_t>(period.count());
}

std::optional<uint64_t> matching_step(const Secret& secret, std::string_view code,
                                      std::chrono::system_clock::time_point now, const TotpSettings& settings) {
    if (settings.digits < 6 || settings.digits > 8 || settings.period.count() <= 0) return std::nullopt;
    if (!all_digits(code, settings.digits) || secret.empty() || !oath_ready()) return std::nullopt;
    time_t when = std::chrono::system_clock::to_time_t(now);
    int position = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate4_callback(secret.c_str(), secret.size(), when,
                                          static_cast<unsigned>(settings.period.count()), 0, settings.digits,
                                          settings.skew_steps, &position, &counter, 0, constant_time_compare, &code);
    if (rc < 0) return std::nullopt;
    return counter;
}

std::string totp_code_for_step(const Secret& secret, uint64_t step, unsigned digits) {
    if (!oath_ready() || digits < 6 || digits > 8) return "";
    char out[16] = {};
    if (oath_hotp_generate(secret.c_str(), secret.size(), step, digits, false, OATH_HOTP_DYNAMIC_TRUNCATION, out) !=
        OATH_OK) {
        return "";
    }
    std::string code(out);
    OPENSSL_cleanse(out, sizeof out);
    return code;
}

}  // namespace vigil
