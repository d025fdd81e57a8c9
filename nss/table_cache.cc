#include "table_cache.h"

#include <pthread.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "grant_format.h"

namespace vigil::nss {
namespace {

struct FileIdentity {
    dev_t dev;
    ino_t ino;
    off_t size;
    mode_t mode;
    uid_t uid;
    timespec mtim;
    timespec ctim;
};

FileIdentity identity_of(const struct stat& st) {
    return {st.st_dev, st.st_ino, st.st_size, st.st_mode, st.st_uid, st.st_mtim, st.st_ctim};
}

bool same_time(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

bool same_file(const FileIdentity& a, const FileIdentity& b) {
    return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mode == b.mode && a.uid == b.uid &&
           same_time(a.mtim, b.mtim) && same_time(a.ctim, b.ctim);
}

// Constant-initialised: nothing runs when the module is loaded.
pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
struct Cached {
    char path[256];
    uid_t owner;
    FileIdentity file;
    char* text;  // malloc()ed; null: nothing cached
    size_t size;
} g_cached{};

// With g_lock held: does the cache hold path, read for owner, as file is now?
bool cache_matches(const TableSource& source, const FileIdentity& file) {
    return g_cached.text != nullptr && g_cached.owner == source.owner &&
           std::strncmp(g_cached.path, source.path, sizeof g_cached.path) == 0 && same_file(g_cached.file, file);
}

bool copy_cached(const TableSource& source, const FileIdentity& file, TableText& out) {
    if (pthread_mutex_trylock(&g_lock) != 0) return false;
    bool hit = cache_matches(source, file) && out.assign({g_cached.text, g_cached.size});
    pthread_mutex_unlock(&g_lock);
    return hit;
}

void remember(const TableSource& source, const FileIdentity& file, std::string_view text) {
    if (std::strlen(source.path) >= sizeof g_cached.path) return;
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) return;
    std::memcpy(copy, text.data(), text.size());
    if (pthread_mutex_trylock(&g_lock) != 0) {
        std::free(copy);
        return;
    }
    std::free(g_cached.text);
    std::strcpy(g_cached.path, source.path);
    g_cached.owner = source.owner;
    g_cached.file = file;
    g_cached.text = copy;
    g_cached.size = text.size();
    pthread_mutex_unlock(&g_lock);
}

// glibc unloads NSS modules in __libc_freeres (valgrind calls it at exit):
// give the copy back then, or it is reported lost.
__attribute__((destructor)) void drop_cache() {
    if (pthread_mutex_trylock(&g_lock) != 0) return;
    std::free(g_cached.text);
    g_cached.text = nullptr;
    pthread_mutex_unlock(&g_lock);
}

}  // namespace

Mention cached_mention(const TableSource& source, std::string_view needle) {
    struct stat now {};
    if (::lstat(source.path, &now) != 0) return Mention::Unknown;
    if (pthread_mutex_trylock(&g_lock) != 0) return Mention::Unknown;
    Mention m = Mention::Unknown;
    if (cache_matches(source, identity_of(now))) {
        m = mentions_field({g_cached.text, g_cached.size}, needle) ? Mention::Yes : Mention::No;
    }
    pthread_mutex_unlock(&g_lock);
    return m;
}

bool load_valid_table(const TableSource& source, TableText& out) {
    struct stat now {};
    bool known = ::lstat(source.path, &now) == 0;
    if (known && copy_cached(source, identity_of(now), out)) return true;
    struct stat read_from {};
    if (load_table(source.path, source.owner, out, &read_from) != LoadStatus::Ok) return false;
    FormatError error;
    if (!validate_table(out.text(), &error)) return false;
    remember(source, identity_of(read_from), out.text());
    return true;
}

}  // namespace vigil::nss
