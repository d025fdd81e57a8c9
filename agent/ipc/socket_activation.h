// The listening sockets systemd passes vigild (vigild.socket and
// vigild-grant.socket; sd_listen_fds(3)). With them, a restart of vigild
// loses no connection: the sockets stay open in systemd, and requests queue
// until the new vigild accepts them.
//
// A passed socket is taken for the configured path it is bound to (names
// are not needed); a passed socket bound nowhere vigil.toml names is an
// error, so a unit and a config that disagree fail at start, not silently.
//
//   auto passed = activated_sockets(config.agent);
//   if (!passed) return fail(passed.error());
//   UniqueFd pam = passed->pam ? std::move(passed->pam) : *listen_unix(...);
#ifndef VIGIL_IPC_SOCKET_ACTIVATION_H
#define VIGIL_IPC_SOCKET_ACTIVATION_H

#include "config.h"
#include "result.h"
#include "unique_fd.h"

namespace vigil {

struct ActivatedSockets {
    UniqueFd pam;    // [agent] socket
    UniqueFd admin;  // [agent] admin_socket
    UniqueFd grant;  // [agent] grant_socket
    bool any() const { return pam || admin || grant; }
};

// Takes the sockets passed to this process (and unsets LISTEN_FDS so no
// child inherits them). None passed: all empty.
Result<ActivatedSockets> activated_sockets(const AgentSettings& agent);

}  // namespace vigil

#endif
