// sshd's SSH_AUTH_INFO_0 (ExposeAuthInfo yes), parsed into what a PDP can use
// as subject properties: the methods that succeeded and, for an OpenSSH
// certificate, its key id, principals, serial, validity, options and CA.
//
//   auto info = parse_ssh_auth_info(request.ssh_auth_info);   // Result<SshAuthInfo>
//   if (!info) { deny(info.error().message); }
//   properties["ssh"] = to_json(*info);
//
// The text is what sshd's auth2_update_session_info() writes: one line per
// successful method, each ended by '\n':
//
//   method[/submethod][ key-type base64-key-blob][ info]
//
//   publickey ssh-ed25519 AAAAC3Nz...
//   publickey ssh-ed25519-cert-v01@openssh.com AAAAIHNz...
//   publickey sk-ssh-ed25519@openssh.com AAAAGnNr... signature count = 12
//   keyboard-interactive/pam
//   password
//   gssapi-with-mic alice@EXAMPLE.ORG
//
// Only publickey and hostbased lines carry a key. Nothing here verifies a
// signature: sshd already did, and the text is only as trustworthy as the
// PAM environment it came from.
//
// Empty text is not an error and yields no methods: sshd leaves
// SSH_AUTH_INFO_0 empty in the account phase of a single-method login.
#ifndef VIGIL_POLICY_SSH_AUTH_INFO_H
#define VIGIL_POLICY_SSH_AUTH_INFO_H

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.h"

namespace vigil {

// Limits on untrusted input; anything beyond them is an error.
inline constexpr size_t kSshAuthInfoMaxBytes = 64 * 1024;
inline constexpr size_t kSshAuthInfoMaxMethods = 16;
inline constexpr size_t kSshCertMaxPrincipals = 256;  // OpenSSH's own limit
inline constexpr size_t kSshCertMaxOptions = 256;     // critical options, and extensions
inline constexpr size_t kSshWireMaxString = 4 * 1024;
// valid_before of a certificate that never expires (ssh-keygen -V ...:forever).
inline constexpr uint64_t kSshCertForever = UINT64_MAX;

struct SshCertificate {
    std::string key_type;  // "ssh-ed25519-cert-v01@openssh.com"
    uint64_t serial = 0;
    bool user_cert = true;  // false: a host certificate (type 2)
    std::string key_id;
    std::vector<std::string> principals;  // empty: OpenSSH reads it as "any"
    uint64_t valid_after = 0;             // seconds since the epoch, UTC
    uint64_t valid_before = 0;            // kSshCertForever: no expiry
    // In certificate order. The value is the option's string ("/bin/true"
    // for force-command), "" for a flag such as verify-required.
    std::vector<std::pair<std::string, std::string>> critical_options;
    std::vector<std::string> extensions;  // names only: "permit-pty", ...
    std::string ca_key_type;              // "ssh-ed25519", "ssh-rsa", ...
    std::string ca_fingerprint;           // "SHA256:..." as ssh-keygen -l prints it
};

struct SshAuthMethod {
    std::string method;     // "publickey", "keyboard-interactive", "password", ...
    std::string submethod;  // "pam" in "keyboard-interactive/pam"; else empty
    std::string key_type;   // publickey and hostbased only, as on the line
    // "SHA256:..." of the public key; for a certificate that of the key it
    // certifies, as sshd logs it ("ED25519-CERT SHA256:...").
    std::string fingerprint;
    std::string info;  // the rest of the line, e.g. "signature count = 12"
    std::optional<SshCertificate> certificate;
};

struct SshAuthInfo {
    std::vector<SshAuthMethod> methods;  // in the order sshd accepted them
    const SshCertificate* first_certificate() const;
    // The fingerprint of the key the first completed publickey method
    // used (for a certificate, the key it certifies); empty if none did.
    std::string publickey_fingerprint() const;
};

Result<SshAuthInfo> parse_ssh_auth_info(std::string_view text);

// {"methods": [{"method", "submethod", "key_type", "fingerprint", "info",
//   "certificate"?}], "certificate"?: <first certificate>}
// A certificate's times appear as seconds (u64) and as RFC 3339 UTC
// ("valid_after_rfc3339"); times past 9999-12-31T23:59:59Z, such as
// "forever", are written as that instant, and "expires" says whether the
// certificate has an end at all.
nlohmann::ordered_json to_json(const SshAuthInfo& info);
nlohmann::ordered_json to_json(const SshCertificate& cert);

// "SHA256:..." of a public key written as in authorized_keys (base64 of
// its wire blob), as ssh-keygen -l prints it.
Result<std::string> ssh_key_fingerprint(std::string_view base64_blob);

// "1970-01-01T00:00:00Z"; clamped to "9999-12-31T23:59:59Z".
std::string ssh_time_rfc3339(uint64_t seconds);

}  // namespace vigil

#endif
