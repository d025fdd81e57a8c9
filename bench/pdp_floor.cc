// pdp_floor: the floor for a remote decision — one libcurl easy handle
// POSTing the same check request to the PDP again and again over one
// keep-alive connection, each request timed on its own.
//
//   pdp_floor --url URL --body FILE --count N [--warmup N] [--expect TEXT]
//             [--pause-us N] [--latency-out FILE]
//
// Options mirror what vigild's HttpClient sets for plain http (HTTP/1.1 with
// keep-alive, TCP keepalive, no proxy, no signals), so the difference to a
// pam_vigil call is vigil's own work: the PAM cycle, the unix socket, building
// and parsing JSON, the audit record.
//
// --pause-us N sleeps N µs between requests (not timed), so that Cerbos sees
// requests paced like a PAM client's rather than back to back.
// --latency-out gets one line per counted request: its wall time in ns
// (steady_clock around curl_easy_perform). --expect TEXT: every answer must
// contain TEXT (e.g. "EFFECT_ALLOW"), else the run fails: a floor measured on
// error answers would be meaningless. On stdout, one summary line:
//   requests=N connections=C failures=F cpu_us=U (its own user + system time)
// where C is the number of new connections libcurl made (CURLINFO_NUM_CONNECTS
// summed over all requests, warm-up included). Exit 0 when every request
// answered 2xx (and held TEXT), 1 otherwise, 2 on a bad command line.
//
// Built by bench/run.sh: g++ -O2 -std=c++20 pdp_floor.cc -lcurl
#include <curl/curl.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

size_t on_body(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

[[noreturn]] void usage() {
    std::fputs(
        "usage: pdp_floor --url URL --body FILE --count N [--warmup N] [--expect TEXT]\n"
        "                 [--pause-us N] [--latency-out FILE]\n",
        stderr);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string url, body_file, expect, latency_out;
    unsigned long count = 0, warmup = 0, pause_us = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (a == "--url")
            url = v;
        else if (a == "--body")
            body_file = v;
        else if (a == "--count")
            count = std::strtoul(v, nullptr, 10);
        else if (a == "--warmup")
            warmup = std::strtoul(v, nullptr, 10);
        else if (a == "--expect")
            expect = v;
        else if (a == "--pause-us")
            pause_us = std::strtoul(v, nullptr, 10);
        else if (a == "--latency-out")
            latency_out = v;
        else
            usage();
    }
    if (url.empty() || body_file.empty() || count == 0) usage();

    std::ifstream in(body_file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "pdp_floor: cannot read %s\n", body_file.c_str());
        return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL* c = curl_easy_init();
    if (c == nullptr) return 1;
    std::string answer;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-bench-floor");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);

    std::vector<long long> ns;
    ns.reserve(count);
    unsigned long failures = 0;
    long connections = 0;
    for (unsigned long i = 0; i < warmup + count; ++i) {
        if (pause_us > 0 && i > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
        answer.clear();
        auto t0 = std::chrono::steady_clock::now();
        CURLcode rc = curl_easy_perform(c);
        auto t1 = std::chrono::steady_clock::now();
        long status = 0, made = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &made);
        connections += made;
        bool ok = rc == CURLE_OK && status >= 200 && status < 300 &&
                  (expect.empty() || answer.find(expect) != std::string::npos);
        if (!ok) {
            if (failures == 0) {
                std::fprintf(stderr, "pdp_floor: request %lu: %s, HTTP %ld: %.300s\n", i, curl_easy_strerror(rc),
                             status, answer.c_str());
            }
            ++failures;
        }
        if (i >= warmup) {
            ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();

    if (!latency_out.empty()) {
        FILE* f = std::fopen(latency_out.c_str(), "w");
        if (f == nullptr) {
            std::fprintf(stderr, "pdp_floor: cannot write %s\n", latency_out.c_str());
            return 2;
        }
        for (long long v : ns) std::fprintf(f, "%lld\n", v);
        std::fclose(f);
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](const timeval& t) { return static_cast<long long>(t.tv_sec) * 1000000 + t.tv_usec; };
    std::printf("requests=%lu connections=%ld failures=%lu cpu_us=%lld\n", warmup + count, connections, failures,
                us(ru.ru_utime) + us(ru.ru_stime));
    return failures == 0 ? 0 : 1;
}
