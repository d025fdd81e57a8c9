// Who posture evidence may come from: the uids that may own the files a
// collector reads (and the directories above them) and serve the sockets it
// asks, and the groups that may have write access to them. Root and vigild's
// own uid always; plus at most one account the admin names for a collector,
// because some vendors' agents drop root (clamd runs as clamav, wazuh-agentd
// as wazuh).
//
//   TrustedIds ids = trusted_ids("clamav");   // looked up now, through NSS
//   if (!ids.trusts_uid(peer.uid)) return err(fmt::format("uid {} is not {}", peer.uid, ids.described));
//
// The account is a user name or a numeric uid ("112"); empty names nobody.
// A name that does not resolve adds nobody (the vendor is not installed),
// and `described` says so, so a refusal explains itself. The account's
// primary group may write (wazuh's directories are root:wazuh 0770); so may
// gid 0.
#ifndef VIGIL_POSTURE_TRUSTED_IDS_H
#define VIGIL_POSTURE_TRUSTED_IDS_H

#include <sys/types.h>

#include <string>
#include <vector>

namespace vigil::posture {

struct TrustedIds {
    std::vector<uid_t> uids;
    std::vector<gid_t> gids;
    std::string described;  // for messages: "root", "root or clamav (uid 112)"

    bool trusts_uid(uid_t uid) const;
    bool trusts_gid(gid_t gid) const;
};

// Resolved at every call, so an agent installed after vigild started is
// trusted from its next collection on.
TrustedIds trusted_ids(const std::string& account);

// True when account is empty, a user name NSS could know, or a uid.
bool valid_account(const std::string& account);

}  // namespace vigil::posture

#endif
