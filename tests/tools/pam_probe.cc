// pam_vigil_probe.so: a test-only PAM module that reports what the modules
// before it left in the PAM handle, so a test can see it from outside.
// Applications may not call pam_get_data(); a module stacked after
// pam_vigil.so (where pam_systemd would sit) can.
//
//   account optional /path/pam_vigil_probe.so data=systemd.runtime_max_sec
//
// For every data=NAME it sends one PAM_TEXT_INFO message through the
// conversation: "probe: NAME=<value>" or "probe: NAME unset". The value is
// read as a NUL-terminated string, which is what pam_systemd expects of
// systemd.* data. Always returns PAM_IGNORE, so it never changes the verdict.
#include <security/pam_modules.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void say(pam_handle_t* pamh, const char* text) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr) return;
    const auto* conv = static_cast<const pam_conv*>(item);
    if (conv->conv == nullptr) return;
    pam_message msg{PAM_TEXT_INFO, text};
    const pam_message* msgs[1] = {&msg};
    pam_response* resp = nullptr;
    if (conv->conv(1, msgs, &resp, conv->appdata_ptr) == PAM_SUCCESS && resp != nullptr) {
        std::free(resp[0].resp);
        std::free(resp);
    }
}

int probe(pam_handle_t* pamh, int argc, const char** argv) {
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "data=", 5) != 0) continue;
        const char* name = argv[i] + 5;
        const void* value = nullptr;
        char line[512];
        if (pam_get_data(pamh, name, &value) == PAM_SUCCESS && value != nullptr) {
            std::snprintf(line, sizeof line, "probe: %s=%s", name, static_cast<const char*>(value));
        } else {
            std::snprintf(line, sizeof line, "probe: %s unset", name);
        }
        say(pamh, line);
    }
    return PAM_IGNORE;
}

}  // namespace

#define PROBE_EXPORT extern "C" __attribute__((visibility("default")))

PROBE_EXPORT int pam_sm_acct_mgmt(pam_handle_t* pamh, int, int argc, const char** argv) {
    return probe(pamh, argc, argv);
}

PROBE_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) {
    return probe(pamh, argc, argv);
}

PROBE_EXPORT int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_IGNORE; }

PROBE_EXPORT int pam_sm_open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    return probe(pamh, argc, argv);
}

PROBE_EXPORT int pam_sm_close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
    return probe(pamh, argc, argv);
}
