// What pam_vigil.so, inside sshd and sudo, reads back from the agent's
// socket. The agent is trusted, but a wrong program at the socket path, or a
// corrupted answer, must cost a clean "garbage" status and nothing else.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "agent_client.h"

namespace {
// 32 KiB: static, like the module's answer lives in one pam handle.
vigil::wire::AgentAnswer answer;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > sizeof answer.buf) return 0;  // the module reads at most one frame
    std::memcpy(answer.buf, data, size);
    for (auto kind : {vigil::wire::Kind::Account, vigil::wire::Kind::Auth, vigil::wire::Kind::OpenSession,
                      vigil::wire::Kind::StepUpAnswer}) {
        if (vigil::wire::parse_answer(size, kind, answer) != vigil::wire::ClientStatus::Ok) continue;
        // Every view the module may print must lie inside the buffer.
        for (std::string_view v : {answer.outcome, answer.reason_user, answer.request_id, answer.prompt, answer.info}) {
            if (!v.empty() && (reinterpret_cast<const uint8_t*>(v.data()) < answer.buf ||
                               reinterpret_cast<const uint8_t*>(v.data() + v.size()) > answer.buf + size)) {
                __builtin_trap();
            }
        }
    }
    return 0;
}
