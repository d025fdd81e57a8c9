// Listening unix sockets for vigild, and the credentials of whoever connects.
#ifndef VIGIL_IPC_UNIX_LISTENER_H
#define VIGIL_IPC_UNIX_LISTENER_H

#include <sys/types.h>

#include <string>

#include "request.h"
#include "result.h"
#include "unique_fd.h"

namespace vigil {

// Binds path with the given mode (owner: the running user, i.e. root).
// Creates the parent directory 0755 if missing. A stale socket is replaced;
// a live one (another vigild answers) or a non-socket file is an error.
Result<UniqueFd> listen_unix(const std::string& path, mode_t mode);

// SO_PEERCRED of a connected unix socket.
Result<PeerCredentials> peer_credentials(int fd);

// A connected client socket (vigilctl).
Result<UniqueFd> connect_unix(const std::string& path);

}  // namespace vigil

#endif
