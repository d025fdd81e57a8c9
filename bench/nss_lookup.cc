// bench/nss_lookup COUNT PREFIX: times COUNT getpwnam_r and COUNT getgrnam_r
// calls for names nobody has (PREFIX0, PREFIX1, ...) through whatever
// /etc/nsswitch.conf says, and prints one line per database:
//   passwd <median ns> <p99 ns>
//   group <median ns> <p99 ns>
// A name nobody has walks every source in the nsswitch line: the worst case
// for what a module adds to each lookup on the host. bench/nss.sh runs it
// with "files" and with "files vigil".
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

template <typename Lookup>
std::vector<long> time_calls(int count, const char* prefix, Lookup lookup) {
    std::vector<long> ns;
    ns.reserve(static_cast<size_t>(count));
    std::vector<char> buf(16384);
    for (int i = 0; i < count; ++i) {
        std::string name = prefix + std::to_string(i);
        auto start = std::chrono::steady_clock::now();
        bool found = lookup(name.c_str(), buf);
        auto took = std::chrono::steady_clock::now() - start;
        if (found) {
            std::fprintf(stderr, "nss_lookup: %s exists; pick another prefix\n", name.c_str());
            std::exit(1);
        }
        ns.push_back(static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
    }
    std::sort(ns.begin(), ns.end());
    return ns;
}

void report(const char* db, const std::vector<long>& ns) {
    size_t n = ns.size();
    std::printf("%s %ld %ld\n", db, ns[(n * 50 + 99) / 100 - 1], ns[(n * 99 + 99) / 100 - 1]);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::atoi(argv[1]) <= 0) {
        std::fprintf(stderr, "usage: nss_lookup COUNT PREFIX\n");
        return 2;
    }
    int count = std::atoi(argv[1]);
    report("passwd", time_calls(count, argv[2], [](const char* name, std::vector<char>& buf) {
               struct passwd pw, *out = nullptr;
               return getpwnam_r(name, &pw, buf.data(), buf.size(), &out) == 0 && out != nullptr;
           }));
    report("group", time_calls(count, argv[2], [](const char* name, std::vector<char>& buf) {
               struct group gr, *out = nullptr;
               return getgrnam_r(name, &gr, buf.data(), buf.size(), &out) == 0 && out != nullptr;
           }));
    return 0;
}
