// The options on a pam_vigil.so line in a PAM file:
//
//   account required pam_vigil.so socket=/run/vigil/pam.sock timeout=3000 failmode=secure debug
#ifndef VIGIL_PAM_MODULE_MODULE_ARGS_H
#define VIGIL_PAM_MODULE_MODULE_ARGS_H

#include <security/pam_modules.h>

namespace vigil::pam {

enum class FailMode { Secure, Safe };

struct ModuleArgs {
    const char* socket_path;  // points into argv or a constant, never freed
    int timeout_ms;
    FailMode failmode;
    bool debug;
};

// Unknown or invalid options are logged and the secure default is kept.
ModuleArgs parse_module_args(pam_handle_t* pamh, int argc, const char** argv);

}  // namespace vigil::pam

#endif
