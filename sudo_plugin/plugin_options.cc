#include "plugin_options.h"

#include <cstring>

#include "decimal.h"

namespace vigil::sudo {
namespace {

constexpr uint64_t kMaxTimeoutMs = 60000;

const char* after(const char* word, const char* prefix) {
    size_t n = std::strlen(prefix);
    return std::strncmp(word, prefix, n) == 0 ? word + n : nullptr;
}

const char* apply(const char* word, PluginOptions& out) {
    if (const char* v = after(word, "socket=")) {
        if (*v != '/') return "socket= needs an absolute path; using the default";
        out.socket_path = v;
    } else if (const char* v = after(word, "timeout=")) {
        uint64_t ms = 0;
        if (!wire::parse_decimal(v, kMaxTimeoutMs, ms) || ms == 0) return "timeout= needs 1 to 60000 (ms); using 3000";
        out.timeout_ms = static_cast<int>(ms);
    } else if (const char* v = after(word, "failmode=")) {
        if (std::strcmp(v, "secure") == 0)
            out.failmode = FailMode::Secure;
        else if (std::strcmp(v, "safe") == 0)
            out.failmode = FailMode::Safe;
        else
            return "failmode= is secure or safe; using secure";
    } else {
        return "unknown option in sudo.conf; ignored";
    }
    return nullptr;
}

}  // namespace

const char* parse_plugin_options(char* const options[], PluginOptions& out) {
    const char* first = nullptr;
    for (size_t i = 0; options != nullptr && options[i] != nullptr; ++i) {
        const char* bad = apply(options[i], out);
        if (first == nullptr) first = bad;
    }
    return first;
}

}  // namespace vigil::sudo
