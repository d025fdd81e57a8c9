// What vigild reads from a client of its PAM socket: one frame, header and
// fields. Only root connects, but the fields carry what users chose (names,
// argv, certificates), and the frame is peeked and timed (timing_of) before
// a worker decodes it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol.h"
#include "request_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < vigil::wire::kHeaderSize) return 0;
    vigil::wire::Header h;
    if (vigil::wire::parse_header(data, h) != vigil::wire::HeaderStatus::Ok) return 0;
    // The body as read_frame hands it on: what follows the header, whatever
    // the header claims, so a lying length reaches the decoders too.
    std::vector<uint8_t> payload(data + vigil::wire::kHeaderSize, data + size);
    auto kind = static_cast<vigil::wire::Kind>(h.kind);
    (void)vigil::timing_of(vigil::Frame{h.kind, payload}, std::chrono::steady_clock::now());
    switch (kind) {
        case vigil::wire::Kind::Account:
        case vigil::wire::Kind::Auth:
        case vigil::wire::Kind::OpenSession:
        case vigil::wire::Kind::CloseSession:
        case vigil::wire::Kind::SudoCommand: (void)vigil::decode_pam_request(kind, payload); break;
        case vigil::wire::Kind::StepUpAnswer: (void)vigil::decode_step_up_answer(payload); break;
        default: break;
    }
    return 0;
}
