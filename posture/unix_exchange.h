// One request/answer exchange over a unix stream socket, bounded in time and
// size: connect, send the request, read the answer, all before one deadline,
// and never more than max_answer bytes. What posture collectors use to ask
// local agents (an EDR's status socket, clamd).
//
//   UnixRequest req{"/run/clamav/clamd.ctl", std::string("zPING\0", 6), 2s, 1024};
//   auto answer = exchange_unix(req, end_at_nul);
//   if (!answer) log(answer.error().message);   // "no socket at ...", "... within 2000 ms"
//
// The answer ends where `end` says (so a peer that keeps the connection open
// is not waited on until the deadline) or where the peer closes.
//
// Before anything is sent, the peer's credentials (SO_PEERCRED: the uid of
// whoever called listen() on the socket) must be trusted: anyone who can
// create a socket at the path, or take it over when the agent dies, would
// otherwise speak for the agent. A peer that is not is refused, with its uid
// and pid in the error.
#ifndef VIGIL_POSTURE_UNIX_EXCHANGE_H
#define VIGIL_POSTURE_UNIX_EXCHANGE_H

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "result.h"
#include "trusted_ids.h"

namespace vigil::posture {

struct UnixRequest {
    std::string path;
    std::string request;                      // sent once connected; may be empty
    std::chrono::milliseconds timeout{1000};  // for connect, send and answer together
    size_t max_answer = 64 * 1024;            // more than this is an error, not a truncation
    TrustedIds peer = trusted_ids("");        // who may answer: root and vigild itself unless widened
};

// Called after each read with everything received so far and the offset
// where the new bytes start; returns the length of the complete answer once
// it is there, std::nullopt to read on.
using AnswerEnd = std::function<std::optional<size_t>(std::string_view received, size_t fresh_from)>;

Result<std::string> exchange_unix(const UnixRequest& r, const AnswerEnd& end);

// An AnswerEnd for protocols that end an answer with a NUL byte (clamd's
// z-commands); the NUL is not part of the answer.
std::optional<size_t> end_at_nul(std::string_view received, size_t fresh_from);

}  // namespace vigil::posture

#endif
