#include "curl_library.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdarg>

namespace vigil {
namespace {

// The soname of the libcurl vigild is built against (libcurl4-openssl-dev).
constexpr const char* kSoname = "libcurl.so.4";

struct CurlFunctions {
    decltype(&curl_global_init) global_init = nullptr;
    decltype(&curl_easy_strerror) easy_strerror = nullptr;
    decltype(&curl_easy_init) easy_init = nullptr;
    decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&curl_easy_setopt) easy_setopt = nullptr;
    decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&curl_easy_perform) easy_perform = nullptr;
    decltype(&curl_share_init) share_init = nullptr;
    decltype(&curl_share_setopt) share_setopt = nullptr;
    decltype(&curl_share_cleanup) share_cleanup = nullptr;
    decltype(&curl_slist_append) slist_append = nullptr;
    decltype(&curl_slist_free_all) slist_free_all = nullptr;
    decltype(&curl_url) url = nullptr;
    decltype(&curl_url_cleanup) url_cleanup = nullptr;
    decltype(&curl_url_set) url_set = nullptr;
    decltype(&curl_url_get) url_get = nullptr;
    decltype(&curl_free) free = nullptr;
};

struct Loaded {
    CurlFunctions fn;
    std::string error;  // empty: loaded and initialised
};

template <class F>
bool find(void* lib, const char* name, F& out, std::string& error) {
    out = reinterpret_cast<F>(::dlsym(lib, name));
    if (out == nullptr && error.empty()) error = fmt::format("{}: no symbol {}", kSoname, name);
    return out != nullptr;
}

Loaded load() {
    Loaded l;
    // Never unloaded: handles and shares live as long as vigild.
    void* lib = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        const char* why = ::dlerror();
        l.error = fmt::format("cannot load {} (package libcurl4): {}", kSoname, why ? why : "unknown error");
        return l;
    }
    CurlFunctions& f = l.fn;
    std::string& e = l.error;
    find(lib, "curl_global_init", f.global_init, e), find(lib, "curl_easy_strerror", f.easy_strerror, e);
    find(lib, "curl_easy_init", f.easy_init, e), find(lib, "curl_easy_cleanup", f.easy_cleanup, e);
    find(lib, "curl_easy_setopt", f.easy_setopt, e), find(lib, "curl_easy_getinfo", f.easy_getinfo, e);
    find(lib, "curl_easy_perform", f.easy_perform, e), find(lib, "curl_share_init", f.share_init, e);
    find(lib, "curl_share_setopt", f.share_setopt, e), find(lib, "curl_share_cleanup", f.share_cleanup, e);
    find(lib, "curl_slist_append", f.slist_append, e), find(lib, "curl_slist_free_all", f.slist_free_all, e);
    find(lib, "curl_url", f.url, e), find(lib, "curl_url_cleanup", f.url_cleanup, e);
    find(lib, "curl_url_set", f.url_set, e), find(lib, "curl_url_get", f.url_get, e);
    find(lib, "curl_free", f.free, e);
    if (!e.empty()) return l;
    // Not safe to race with other curl calls: this runs once, before any.
    if (CURLcode rc = f.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
        e = fmt::format("curl_global_init: {}", f.easy_strerror(rc));
    }
    return l;
}

const Loaded& loaded() {
    static const Loaded l = load();
    return l;
}

// The functions, once loaded; null before (or when loading failed).
const CurlFunctions* curl() {
    const Loaded& l = loaded();
    return l.error.empty() ? &l.fn : nullptr;
}

}  // namespace

Status load_curl() {
    const Loaded& l = loaded();
    if (!l.error.empty()) return err(l.error);
    return Ok{};
}

}  // namespace vigil

// The forwarders. Hidden: vigild does not export them, so the loaded
// libcurl can never bind its own calls to them. The variadic setters read
// their one argument as libcurl's own code does (by option range), so it
// is passed on with its type.
#define VIGIL_CURL_FORWARDER extern "C" __attribute__((visibility("hidden")))

// libcurl declares the last named parameter of its setters as an enum, which
// C++ promotes to int: clang calls va_start on it undefined by the letter of
// the standard. GCC's and clang's va_start use that parameter only to check
// it is the last one (C23 drops it altogether); the arguments are read from
// the ABI's save area either way, which is what libcurl's C does too.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wvarargs"
#endif

using vigil::curl;

VIGIL_CURL_FORWARDER const char* curl_easy_strerror(CURLcode code) {
    return curl() ? curl()->easy_strerror(code) : "libcurl is not loaded";
}

VIGIL_CURL_FORWARDER CURL* curl_easy_init() { return curl() ? curl()->easy_init() : nullptr; }

VIGIL_CURL_FORWARDER void curl_easy_cleanup(CURL* c) {
    if (curl()) curl()->easy_cleanup(c);
}

VIGIL_CURL_FORWARDER CURLcode curl_easy_setopt(CURL* c, CURLoption option, ...) {
    if (!curl()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        rc = curl()->easy_setopt(c, option, va_arg(ap, long));
    } else if (option < CURLOPTTYPE_FUNCTIONPOINT || option >= CURLOPTTYPE_BLOB) {
        rc = curl()->easy_setopt(c, option, va_arg(ap, void*));
    } else if (option < CURLOPTTYPE_OFF_T) {
        rc = curl()->easy_setopt(c, option, va_arg(ap, void (*)()));
    } else {
        rc = curl()->easy_setopt(c, option, va_arg(ap, curl_off_t));
    }
    va_end(ap);
    return rc;
}

VIGIL_CURL_FORWARDER CURLcode curl_easy_getinfo(CURL* c, CURLINFO info, ...) {
    if (!curl()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = curl()->easy_getinfo(c, info, va_arg(ap, void*));  // always where to write the value
    va_end(ap);
    return rc;
}

VIGIL_CURL_FORWARDER CURLcode curl_easy_perform(CURL* c) {
    return curl() ? curl()->easy_perform(c) : CURLE_FAILED_INIT;
}

VIGIL_CURL_FORWARDER CURLSH* curl_share_init() { return curl() ? curl()->share_init() : nullptr; }

VIGIL_CURL_FORWARDER CURLSHcode curl_share_setopt(CURLSH* s, CURLSHoption option, ...) {
    if (!curl()) return CURLSHE_NOMEM;
    va_list ap;
    va_start(ap, option);
    CURLSHcode rc;
    switch (option) {
        case CURLSHOPT_SHARE:
        case CURLSHOPT_UNSHARE: rc = curl()->share_setopt(s, option, va_arg(ap, int)); break;
        case CURLSHOPT_LOCKFUNC:
        case CURLSHOPT_UNLOCKFUNC: rc = curl()->share_setopt(s, option, va_arg(ap, void (*)())); break;
        default: rc = curl()->share_setopt(s, option, va_arg(ap, void*)); break;
    }
    va_end(ap);
    return rc;
}

VIGIL_CURL_FORWARDER CURLSHcode curl_share_cleanup(CURLSH* s) {
    return curl() ? curl()->share_cleanup(s) : CURLSHE_NOMEM;
}

VIGIL_CURL_FORWARDER curl_slist* curl_slist_append(curl_slist* list, const char* s) {
    return curl() ? curl()->slist_append(list, s) : nullptr;
}

VIGIL_CURL_FORWARDER void curl_slist_free_all(curl_slist* list) {
    if (curl()) curl()->slist_free_all(list);
}

VIGIL_CURL_FORWARDER CURLU* curl_url() { return curl() ? curl()->url() : nullptr; }

VIGIL_CURL_FORWARDER void curl_url_cleanup(CURLU* u) {
    if (curl()) curl()->url_cleanup(u);
}

VIGIL_CURL_FORWARDER CURLUcode curl_url_set(CURLU* u, CURLUPart part, const char* content, unsigned int flags) {
    return curl() ? curl()->url_set(u, part, content, flags) : CURLUE_OUT_OF_MEMORY;
}

VIGIL_CURL_FORWARDER CURLUcode curl_url_get(CURLU* u, CURLUPart what, char** part, unsigned int flags) {
    return curl() ? curl()->url_get(u, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

VIGIL_CURL_FORWARDER void curl_free(void* p) {
    if (curl()) curl()->free(p);
}
