// Reading and writing whole protocol frames on a blocking stream socket,
// bounded by a deadline. Used by vigild's servers and by vigilctl.
//
//   auto f = read_frame(fd, 2000ms);           // Result<std::optional<Frame>>
//   Status s = write_frame(fd, encode(...));
#ifndef VIGIL_IPC_FRAME_IO_H
#define VIGIL_IPC_FRAME_IO_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol.h"
#include "result.h"

namespace vigil {

struct Frame {
    uint16_t kind = 0;
    std::vector<uint8_t> payload;
    // When the module began to ask (timing_of; else when its connection was
    // accepted): the server sets it, and a request's budget counts from
    // there, time in the backlog and waiting for a worker included.
    std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();
};

// std::nullopt: the peer closed cleanly before sending a byte (a liveness
// probe, such as a second vigild checking whether the socket is in use).
Result<std::optional<Frame>> read_frame(int fd, std::chrono::milliseconds timeout);
// The one frame a connection carries, if all of it has already arrived,
// without taking it from the socket (MSG_PEEK): the event loop looks before
// it decides whether to answer at once or hand the connection to a worker,
// which then reads it with read_frame. nullopt for anything else (not all
// there yet, closed, a bad header, bytes after the frame): the worker reads
// and reports it. take_frame then removes the frame that was peeked.
std::optional<Frame> peek_frame(int fd);
void take_frame(int fd, const Frame& peeked);
// When peek_frame found no whole frame: whether the rest may still come
// (nothing yet, or the start of a frame whose header is good) from a peer
// still there. false: closed, or bytes that are no frame.
bool frame_coming(int fd);
Status write_frame(int fd, const std::vector<uint8_t>& frame, std::chrono::milliseconds timeout);

// Builds a frame from (tag, value) pairs; an error if it exceeds kMaxFrame.
Result<std::vector<uint8_t>> build_frame(wire::Kind kind,
                                         const std::vector<std::pair<wire::Tag, std::string_view>>& fields);

}  // namespace vigil

#endif
