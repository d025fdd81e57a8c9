#include "socket_activation.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstring>

namespace vigil {

Result<ActivatedSockets> activated_sockets(const AgentSettings& agent) {
    ActivatedSockets out;
    int n = sd_listen_fds(1);
    if (n < 0) return err(fmt::format("sockets passed by systemd: {}", std::strerror(-n)));
    struct Slot {
        const std::string& path;
        UniqueFd& fd;
    };
    Slot slots[] = {{agent.socket, out.pam}, {agent.admin_socket, out.admin}, {agent.grant_socket, out.grant}};
    for (int i = 0; i < n; ++i) {
        int fd = SD_LISTEN_FDS_START + i;
        UniqueFd owned(fd);
        bool placed = false;
        for (Slot& s : slots) {
            if (s.fd || sd_is_socket_unix(fd, SOCK_STREAM, 1, s.path.c_str(), 0) <= 0) continue;
            s.fd = std::move(owned);
            placed = true;
            break;
        }
        if (!placed) {
            return err(fmt::format(
                "systemd passed socket {} (fd {}) that is not a listening unix stream socket at [agent] socket, "
                "admin_socket or grant_socket; make vigild.socket's ListenStream= match vigil.toml",
                i + 1, fd));
        }
    }
    return out;
}

}  // namespace vigil
