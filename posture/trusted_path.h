// Opens the files posture is read from (and the programs it runs) only when
// nobody but a trusted account (trusted_ids.h) could have put them there:
// a state file an ordinary user can write, or swap through a directory they
// can write, would let that user decide who gets in.
//
//   auto f = open_trusted("/var/ossec/var/run/wazuh-agentd.state", trusted_ids("wazuh"), O_RDONLY);
//   if (!f) return f.error();   // "...: refused: /var/ossec/var/run is writable by others (mode 0777)"
//   if (!*f) return absent;     // no such file: an answer, not an error
//   read((*f)->get(), ...);
//
// The rules, sshd's StrictModes widened for vendors that run as their own
// user: the path is walked from / one component at a time (openat with
// O_NOFOLLOW, so what is checked is what is opened), and
//   - every directory on the way is owned by a trusted uid, and writable by
//     others only with the sticky bit (/tmp: nobody can rename or remove an
//     entry they do not own), by its group only when the group is trusted
//     (or with the sticky bit);
//   - the file is a regular file owned by a trusted uid, never writable by
//     others, writable by its group only when the group is trusted.
// A symbolic link on the way (/var/run -> /run) is followed, from a
// directory that passed the rules, and what it points to is walked the same
// way; at most 40 of them. A FIFO or device in the file's place is refused
// without being opened.
#ifndef VIGIL_POSTURE_TRUSTED_PATH_H
#define VIGIL_POSTURE_TRUSTED_PATH_H

#include <optional>
#include <string>

#include "result.h"
#include "trusted_ids.h"
#include "unique_fd.h"

namespace vigil::posture {

// flags: open(2) flags for the file itself (O_RDONLY, O_PATH, ...);
// O_NOFOLLOW, O_CLOEXEC, O_NOCTTY and O_NONBLOCK are added. std::nullopt when the file
// (or a directory on its path) does not exist.
Result<std::optional<UniqueFd>> open_trusted(const std::string& path, const TrustedIds& ids, int flags);

// The same rules for a program vigild is about to run (falconctl,
// osqueryi); an absent program is an error here.
Status check_trusted_program(const std::string& path, const TrustedIds& ids);

}  // namespace vigil::posture

#endif
