#include "module_args.h"

#include <security/pam_ext.h>
#include <sys/un.h>
#include <syslog.h>

#include <cstring>
#include <string_view>

#include "break_glass.h"
#include "protocol.h"

namespace vigil::pam {
namespace {

constexpr int kMaxTimeoutMs = 60000;

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

void parse_socket(pam_handle_t* pamh, const char* value, ModuleArgs& out) {
    // An absolute path that fits sockaddr_un; anything else could connect
    // somewhere the admin did not mean.
    if (value[0] != '/' || std::strlen(value) >= sizeof(sockaddr_un{}.sun_path)) {
        pam_syslog(pamh, LOG_ERR, "ignoring socket=%s: not an absolute path that fits", value);
        return;
    }
    out.socket_path = value;
}

void parse_timeout(pam_handle_t* pamh, const char* value, ModuleArgs& out) {
    uint64_t ms = 0;
    if (!wire::parse_decimal(value, kMaxTimeoutMs, ms) || ms == 0) {
        pam_syslog(pamh, LOG_ERR, "ignoring timeout=%s: want 1..%d milliseconds", value, kMaxTimeoutMs);
        return;
    }
    out.timeout_ms = static_cast<int>(ms);
}

void parse_failmode(pam_handle_t* pamh, const char* value, ModuleArgs& out) {
    std::string_view v(value);
    if (v == "secure") {
        out.failmode = FailMode::Secure;
    } else if (v == "safe") {
        out.failmode = FailMode::Safe;
    } else {
        pam_syslog(pamh, LOG_ERR, "ignoring failmode=%s: want secure or safe", value);
    }
}

// A group name as /etc/group can hold it.
void parse_breakglass(pam_handle_t* pamh, const char* value, ModuleArgs& out) {
    size_t n = std::strlen(value);
    if (n == 0 || n > 64 || std::strpbrk(value, ":/,\n") != nullptr) {
        pam_syslog(pamh, LOG_ERR, "ignoring breakglass=%s: not a group name", value);
        return;
    }
    out.breakglass_group = value;
}

void parse_breakglass_dir(pam_handle_t* pamh, const char* value, ModuleArgs& out) {
    if (value[0] != '/') {
        pam_syslog(pamh, LOG_ERR, "ignoring breakglass_dir=%s: not an absolute path", value);
        return;
    }
    out.breakglass_dir = value;
}

}  // namespace

ModuleArgs parse_module_args(pam_handle_t* pamh, int argc, const char** argv) {
    ModuleArgs args{wire::kDefaultPamSocket, wire::kDefaultClientTimeoutMs, FailMode::Secure, false, false, nullptr,
                    kDefaultBreakGlassDir};
    for (int i = 0; i < argc; ++i) {
        std::string_view arg(argv[i]);
        if (starts_with(arg, "socket=")) {
            parse_socket(pamh, argv[i] + 7, args);
        } else if (starts_with(arg, "timeout=")) {
            parse_timeout(pamh, argv[i] + 8, args);
        } else if (starts_with(arg, "failmode=")) {
            parse_failmode(pamh, argv[i] + 9, args);
        } else if (arg == "debug") {
            args.debug = true;
        } else if (arg == "after_auth") {
            args.after_auth = true;
        } else if (starts_with(arg, "breakglass=")) {
            parse_breakglass(pamh, argv[i] + 11, args);
        } else if (starts_with(arg, "breakglass_dir=")) {
            parse_breakglass_dir(pamh, argv[i] + 15, args);
        } else {
            pam_syslog(pamh, LOG_ERR, "ignoring unknown option %s", argv[i]);
        }
    }
    return args;
}

}  // namespace vigil::pam
