#include "request.h"

#include "protocol.h"

namespace vigil {

const char* to_string(Phase p) {
    switch (p) {
        case Phase::Account: return wire::kPhaseAccount;
        case Phase::Auth: return wire::kPhaseAuth;
        case Phase::OpenSession: return wire::kPhaseOpenSession;
        case Phase::CloseSession: return wire::kPhaseCloseSession;
        case Phase::DryRun: return "dry_run";
        case Phase::Reevaluate: return "reevaluate";
        case Phase::SessionEnd: return "session_end";
        case Phase::Grant: return "grant";
        case Phase::Command: return wire::kPhaseCommand;
    }
    return "unknown";
}

Request dry_run_request(std::string user, std::string service, std::string rhost, std::string tty) {
    Request q;
    q.phase = Phase::DryRun;
    q.user = std::move(user);
    q.service = std::move(service);
    q.rhost = std::move(rhost);
    q.tty = std::move(tty);
    return q;
}

}  // namespace vigil
