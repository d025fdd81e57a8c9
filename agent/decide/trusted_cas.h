// The SSH certificate authorities whose user certificates vigil believes
// ([ssh] trusted_user_ca_keys and trusted_ca_fingerprints).
//
// sshd accepts a certificate signed by a CA that the user names with
// cert-authority in their own authorized_keys: its key id, principals and
// extensions are then whatever the user wrote. Only a CA the admin trusts
// may speak for a caller; the keys file is held to the same ownership and
// mode rules as vigil.toml, since whoever writes it decides who is whom.
//
//   auto cas = TrustedCas::load(config.ssh);       // Result<TrustedCas>
//   if (cas->trusts(cert.ca_fingerprint)) ...
#ifndef VIGIL_DECIDE_TRUSTED_CAS_H
#define VIGIL_DECIDE_TRUSTED_CAS_H

#include <set>
#include <string>
#include <string_view>

#include "config.h"
#include "result.h"

namespace vigil {

class TrustedCas {
public:
    // Reads the keys file, if one is named: one public key per line
    // ("ssh-ed25519 AAAA... comment"), blank lines and # comments skipped.
    static Result<TrustedCas> load(const SshSettings& s);
    // The same from text already read; path only labels errors.
    static Result<TrustedCas> parse(std::string_view keys_text, const std::string& path);

    void add(std::string fingerprint) { fingerprints_.insert(std::move(fingerprint)); }
    bool trusts(const std::string& ca_fingerprint) const { return fingerprints_.count(ca_fingerprint) > 0; }
    size_t size() const { return fingerprints_.size(); }

private:
    std::set<std::string> fingerprints_;
};

}  // namespace vigil

#endif
