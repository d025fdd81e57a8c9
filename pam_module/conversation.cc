#include "conversation.h"

#include <cstdlib>
#include <cstring>

#include "user_text.h"

namespace vigil::pam {
namespace {

// Text shown before a prompt, scrubbed (user_text.h), at most 16 KiB.
// Returns a malloc'd string or nullptr.
char* render_block(std::string_view text) {
    constexpr size_t kMaxBlock = 16 * 1024;
    size_t n = text.size() < kMaxBlock ? text.size() : kMaxBlock;
    char* out = static_cast<char*>(std::malloc(n + 1));
    if (out == nullptr) return nullptr;
    wire::scrub_user_block(text.substr(0, n), out);
    return out;
}

}  // namespace

bool ask_user(pam_handle_t* pamh, std::string_view info, std::string_view prompt, bool echo, char* out,
              size_t out_size) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) return false;
    const auto* conv = static_cast<const pam_conv*>(item);
    if (conv->conv == nullptr || out_size == 0) return false;
    char* info_text = info.empty() ? nullptr : render_block(info);
    char* prompt_text = render_block(prompt);
    if (prompt_text == nullptr || (!info.empty() && info_text == nullptr)) {
        std::free(info_text);
        std::free(prompt_text);
        return false;
    }
    pam_message msgs[2];
    const pam_message* ptrs[2];
    int n = 0;
    if (info_text != nullptr) msgs[n] = {PAM_TEXT_INFO, info_text}, ptrs[n] = &msgs[n], ++n;
    msgs[n] = {echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, prompt_text}, ptrs[n] = &msgs[n], ++n;
    pam_response* resp = nullptr;
    int rc = conv->conv(n, ptrs, &resp, conv->appdata_ptr);
    std::free(info_text);
    std::free(prompt_text);
    bool ok = false;
    if (resp != nullptr) {
        char* answer = resp[n - 1].resp;
        if (rc == PAM_SUCCESS && answer != nullptr) {
            size_t len = std::strlen(answer);
            if (len < out_size) {
                std::memcpy(out, answer, len + 1);
                ok = true;
            }
        }
        // Wiped whether or not the conversation succeeded: it may be a code.
        for (int i = 0; i < n; ++i) {
            if (resp[i].resp != nullptr) explicit_bzero(resp[i].resp, std::strlen(resp[i].resp));
            std::free(resp[i].resp);
        }
    }
    std::free(resp);
    return ok;
}

void tell_user(pam_handle_t* pamh, std::string_view text) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) return;
    const auto* conv = static_cast<const pam_conv*>(item);
    if (conv->conv == nullptr) return;

    char line[wire::kMaxUserLine];
    wire::render_user_line(text, line);
    pam_message msg{PAM_ERROR_MSG, line};
    const pam_message* msgs[1] = {&msg};
    pam_response* resp = nullptr;
    conv->conv(1, msgs, &resp, conv->appdata_ptr);
    if (resp != nullptr) {
        std::free(resp[0].resp);
        std::free(resp);
    }
}

}  // namespace vigil::pam
