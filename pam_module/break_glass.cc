#include "break_glass.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "fd_io.h"
#include "unique_fd.h"

namespace vigil::pam {
namespace {

// Room for one /etc/group line (a big group lists many members); grown
// up to kMaxLine on ERANGE, which glibc reports before consuming the line.
constexpr size_t kFirstLine = 16 * 1024;
constexpr size_t kMaxLine = 1024 * 1024;

// Calls found(entry) for each entry of file until it returns true. T is
// passwd or group, read with fget*ent_r.
template <typename T, typename Next, typename Found>
bool scan(const char* path, Next next, Found found) {
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) return false;
    size_t cap = kFirstLine;
    char* buf = static_cast<char*>(std::malloc(cap));
    bool hit = false;
    T entry;
    T* out = nullptr;
    while (buf != nullptr) {
        int rc = next(f, &entry, buf, cap, &out);
        if (rc == ERANGE && cap < kMaxLine) {
            cap *= 2;
            char* bigger = static_cast<char*>(std::realloc(buf, cap));
            if (bigger == nullptr) break;
            buf = bigger;
            continue;
        }
        if (rc != 0 || out == nullptr) break;
        if (found(*out)) {
            hit = true;
            break;
        }
    }
    std::free(buf);
    std::fclose(f);
    return hit;
}

bool primary_gid(const char* user, gid_t& gid) {
    return scan<passwd>("/etc/passwd", fgetpwent_r, [&](const passwd& p) {
        if (std::strcmp(p.pw_name, user) != 0) return false;
        gid = p.pw_gid;
        return true;
    });
}

bool name_of_uid(uid_t uid, char* buf, size_t cap) {
    return scan<passwd>("/etc/passwd", fgetpwent_r, [&](const passwd& p) {
        if (p.pw_uid != uid || std::strlen(p.pw_name) >= cap) return false;
        std::strcpy(buf, p.pw_name);
        return true;
    });
}

void say(char* err, size_t errlen, const char* what, int e) {
    std::snprintf(err, errlen, "%s: %s", what, e ? std::strerror(e) : "refused");
}

// The spool directory as vigild makes it: root's alone.
UniqueFd open_spool(const char* dir, char* err, size_t errlen) {
    UniqueFd fd(open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return say(err, errlen, "cannot open the spool directory", errno), UniqueFd();
    struct stat st;
    if (fstat(fd.get(), &st) != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0) {
        return say(err, errlen, "the spool directory is not root's alone (mode 0700)", 0), UniqueFd();
    }
    return fd;
}

}  // namespace

bool break_glass_user(const RequestFacts& facts, char* buf, size_t cap) {
    uid_t ruid = getuid();
    if (ruid != 0) return name_of_uid(ruid, buf, cap);
    if (facts.user.empty() || facts.user.size() >= cap) return false;
    std::memcpy(buf, facts.user.data(), facts.user.size());
    buf[facts.user.size()] = '\0';
    return true;
}

bool in_local_group(const char* user, const char* group) {
    gid_t gid = 0;
    bool have_primary = primary_gid(user, gid);
    return scan<struct group>("/etc/group", fgetgrent_r, [&](const struct group& g) {
        if (std::strcmp(g.gr_name, group) != 0) return false;
        if (have_primary && g.gr_gid == gid) return true;
        for (char** m = g.gr_mem; m != nullptr && *m != nullptr; ++m) {
            if (std::strcmp(*m, user) == 0) return true;
        }
        return false;
    });
}

bool spool_break_glass(const char* dir, const RequestFacts& facts, const char* user, const char* phase,
                       const char* group, const char* why, char* err, size_t errlen) {
    UniqueFd dfd = open_spool(dir, err, errlen);
    if (!dfd) return false;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    char secs[21], pid[21];
    uint8_t frame[4096];
    wire::Writer w(frame, sizeof frame);
    w.put(wire::Tag::At, wire::format_decimal(static_cast<uint64_t>(now.tv_sec), secs));
    w.put(wire::Tag::Phase, phase);
    w.put(wire::Tag::User, user);
    w.put(wire::Tag::Service, facts.service);
    w.put(wire::Tag::Rhost, facts.rhost);
    w.put(wire::Tag::Tty, facts.tty);
    w.put(wire::Tag::Pid, wire::format_decimal(static_cast<uint64_t>(getpid()), pid));
    w.put(wire::Tag::Group, group);
    w.put(wire::Tag::Error, why);
    size_t n = w.finish(wire::Kind::BreakGlass);
    if (n == 0) return say(err, errlen, "the record does not fit one frame", 0), false;
    char name[64];
    std::snprintf(name, sizeof name, "%lld.%09ld.%d", static_cast<long long>(now.tv_sec), now.tv_nsec,
                  static_cast<int>(getpid()));
    UniqueFd fd(openat(dfd.get(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return say(err, errlen, "cannot create the spool file", errno), false;
    bool ok = wire::write_full(fd.get(), frame, n) && fsync(fd.get()) == 0;
    if (!ok) say(err, errlen, "cannot write the spool file", errno);
    return ok;
}

}  // namespace vigil::pam
