// Runs one device flow (agent/step_up/device_flow.h) from the command line, for
// tests/oidc/selftest.sh and by hand against a real provider:
//
//   device_flow_probe --issuer URL --client-id ID --user NAME [--deadline-ms N]
//                     [--amr-any mfa,otp] [--acr-any A,B] [--client-secret-file F]
//                     [--ca-file F] [--max-auth-age S] [--scope S] [--cancel-after-ms N]
//                     [--user-claim CLAIM]
//
// Prints "verification_uri=...", "verification_uri_complete=..." and
// "user_code=..." (flushed at once, so a test can hand the URL to the
// approver), then waits up to --deadline-ms (default 60000) and prints one of
//   state=approved user=NAME sub=SUB amr=pwd,otp acr=ACR
//   state=denied|expired|failed|pending why=...
// --cancel-after-ms calls cancel() from another thread while wait() runs.
// --deadline-ms also bounds discovery and the device authorization request
// (begin()'s deadline, as the PAM module's deadline does in vigild).
// Exit status: 0 approved, 1 anything else, 2 bad usage.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "device_flow.h"
#include "log.h"

namespace {

using vigil::DeviceFlowSettings;

struct Options {
    DeviceFlowSettings settings;
    std::string user;
    long deadline_ms = 60000;
    long cancel_after_ms = -1;  // never
};

std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        size_t comma = text.find(',');
        if (comma != 0) out.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

int usage() {
    std::fprintf(stderr,
                 "usage: device_flow_probe --issuer URL --client-id ID --user NAME [--deadline-ms N]\n"
                 "       [--amr-any A,B] [--acr-any A,B] [--client-secret-file F] [--ca-file F]\n"
                 "       [--max-auth-age S] [--scope S] [--cancel-after-ms N] [--user-claim CLAIM]\n");
    return 2;
}

// Applies one "--flag value" pair; false for an unknown flag.
bool apply(Options& o, std::string_view flag, const char* value) {
    DeviceFlowSettings& s = o.settings;
    std::string* text = flag == "--issuer"               ? &s.issuer
                        : flag == "--client-id"          ? &s.client_id
                        : flag == "--user"               ? &o.user
                        : flag == "--client-secret-file" ? &s.client_secret_file
                        : flag == "--ca-file"            ? &s.ca_file
                        : flag == "--scope"              ? &s.scope
                        : flag == "--user-claim"         ? &s.user_claim
                                                         : nullptr;
    if (text != nullptr) {
        *text = value;
        return true;
    }
    if (flag == "--deadline-ms") {
        o.deadline_ms = std::atol(value);
    } else if (flag == "--cancel-after-ms") {
        o.cancel_after_ms = std::atol(value);
    } else if (flag == "--amr-any") {
        s.accept_amr = split_commas(value);
    } else if (flag == "--acr-any") {
        s.accept_acr = split_commas(value);
    } else if (flag == "--max-auth-age") {
        s.max_auth_age = std::chrono::seconds(std::atol(value));
    } else {
        return false;
    }
    return true;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

int report(const vigil::DeviceOutcome& o) {
    std::string state(vigil::to_string(o.state));
    if (o.state == vigil::DeviceState::Approved) {
        std::printf("state=approved user=%s sub=%s amr=%s acr=%s\n", o.claims.user.c_str(), o.claims.subject.c_str(),
                    join(o.claims.amr).c_str(), o.claims.acr.c_str());
        return 0;
    }
    std::printf("state=%s why=%s\n", state.c_str(), o.why.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || !apply(o, argv[i], argv[i + 1])) return usage();
    }
    if (o.settings.issuer.empty() || o.settings.client_id.empty() || o.user.empty()) return usage();
    vigil::set_log_level(vigil::LogLevel::Warning);
    auto flow = vigil::DeviceFlow::begin(o.settings, o.user,
                                         std::chrono::steady_clock::now() + std::chrono::milliseconds(o.deadline_ms));
    if (!flow) {
        std::printf("state=failed why=%s\n", flow.error().message.c_str());
        return 1;
    }
    const vigil::DeviceCode& code = (*flow)->code();
    std::printf("verification_uri=%s\nverification_uri_complete=%s\nuser_code=%s\n", code.verification_uri.c_str(),
                code.verification_uri_complete.c_str(), code.user_code.c_str());
    std::fflush(stdout);
    std::thread canceller;
    if (o.cancel_after_ms >= 0) {
        canceller = std::thread([&flow, ms = o.cancel_after_ms] {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            (*flow)->cancel();
        });
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.deadline_ms);
    int rc = report((*flow)->wait(deadline));
    std::fflush(stdout);
    if (canceller.joinable()) canceller.join();
    return rc;
}
