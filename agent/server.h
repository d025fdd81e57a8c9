// vigild's two sockets and the closed table of requests they answer.
//
// Like OpenSSH's monitor, the server answers only the request kinds listed
// in its route table, each permitted on one socket only; anything else, a
// malformed frame, or a peer that is not root closes the connection and is
// logged. Each connection gets its own thread, up to max_concurrent; beyond
// that a request is answered "busy" (a deny) at once instead of queueing.
#ifndef VIGIL_AGENT_SERVER_H
#define VIGIL_AGENT_SERVER_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine.h"
#include "frame_io.h"
#include "result.h"
#include "unique_fd.h"

namespace vigil {

enum class Listener { Pam, Admin };

struct ServerOptions {
    int max_concurrent = 64;
    std::chrono::milliseconds read_timeout{2000};
};

class Server {
public:
    using EngineSource = std::function<std::shared_ptr<Engine>()>;

    Server(ServerOptions options, EngineSource engine);

    // Accepts what is pending on a listening socket (non-blocking).
    void accept_from(int listen_fd, Listener which);

    // Waits until every connection thread has finished, at most `limit`.
    void drain(std::chrono::milliseconds limit);

    struct Route;

private:
    static const Route kRoutes[];
    static const Route* find_route(uint16_t kind, Listener on);

    void start_worker(UniqueFd conn, Listener which, PeerCredentials peer);
    void handle(UniqueFd conn, Listener which, PeerCredentials peer, bool busy);
    Result<std::vector<uint8_t>> answer_pam_request(const Frame& f, const PeerCredentials& peer);
    Result<std::vector<uint8_t>> answer_admin_decide(const Frame& f, const PeerCredentials& peer);
    Result<std::vector<uint8_t>> answer_admin_ping(const Frame& f, const PeerCredentials& peer);

    ServerOptions options_;
    EngineSource engine_;
    std::mutex mu_;
    std::condition_variable idle_;
    int active_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::atomic<uint64_t> answered_{0};
};

}  // namespace vigil

#endif
