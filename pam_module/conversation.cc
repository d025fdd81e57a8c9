#include "conversation.h"

#include <cstdlib>
#include <cstring>

namespace vigil::pam {
namespace {

constexpr char kPrefix[] = "vigil: ";
constexpr size_t kMaxMessage = 512;

// Copies text after the prefix, printable bytes only, always NUL-terminated.
void render(std::string_view text, char (&out)[kMaxMessage]) {
    size_t n = sizeof kPrefix - 1;
    std::memcpy(out, kPrefix, n);
    for (char c : text) {
        if (n + 1 >= kMaxMessage) break;
        unsigned char u = static_cast<unsigned char>(c);
        out[n++] = (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    out[n] = '\0';
}

}  // namespace

void tell_user(pam_handle_t* pamh, std::string_view text) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) return;
    const auto* conv = static_cast<const pam_conv*>(item);
    if (conv->conv == nullptr) return;

    char line[kMaxMessage];
    render(text, line);
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
