// The options on a pam_vigil.so line in a PAM file:
//
//   account required pam_vigil.so socket=/run/vigil/pam.sock timeout=3000 failmode=secure debug
//   auth required pam_vigil.so after_auth     (in common-auth, after the password)
//   account required pam_vigil.so failmode=secure breakglass=vigil-breakglass
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
    // Auth phase: modules before this line authenticated the user (the
    // pam-auth-update profile's Additional block runs only after
    // common-auth's primary block succeeded). Without it, vigild denies
    // sshd's auth phase unless a public key was accepted first, so that its
    // "nothing to add" is never all that stands before a pam_permit.
    bool after_auth;
    // Members of this local group pass when vigild cannot be reached or does
    // not answer in time (break_glass.h); null: nobody does.
    const char* breakglass_group;
    const char* breakglass_dir;  // where each such use is spooled for vigild
};

// Unknown or invalid options are logged and the secure default is kept.
ModuleArgs parse_module_args(pam_handle_t* pamh, int argc, const char** argv);

}  // namespace vigil::pam

#endif
