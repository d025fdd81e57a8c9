// pdp_floor: the floor for a remote decision — one libcurl easy handle
// POSTing the same check request to the PDP again and again over one
// keep-alive connection, each request timed on its own.
//
//   pdp_floor --url URL --body FILE --count N [--warmup N] [--expect TEXT]
//             [--pause-us N] [--latency-out FILE]
//             [--clients N [--multiplex]] [--cacert FILE]
//
// Options mirror what vigild's HttpClient sets for plain http (HTTP/1.1 with
// keep-alive, TCP keepalive, no proxy, no signals), so the difference to a
// pam_vigil call is vigil's own work: the PAM cycle, the unix socket, building
// and parsing JSON, the audit record.
//
// --clients N keeps N requests in flight at once from one thread (libcurl's
// multi interface), each on a connection of its own; with --multiplex, all N
// share one HTTP/2 connection (the server must speak HTTP/2: over TLS, by
// ALPN). This measures what a PDP pays per request for N connections against
// one multiplexed connection, and what batching costs (give --body an
// AuthZEN /access/v1/evaluations request: "requests" counts HTTP requests,
// and each carries the whole batch). --cacert trusts FILE for https.
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
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string url, body_file, expect, latency_out, cacert;
    unsigned long count = 0, warmup = 0, pause_us = 0, clients = 0;
    bool multiplex = false;
};

// What a run saw: each counted request's wall time, and the failures.
struct Outcome {
    std::vector<long long> ns;
    unsigned long failures = 0;
    long connections = 0;
};

// One request's handle and what it answered.
struct Transfer {
    CURL* easy = nullptr;
    std::string answer;
    Clock::time_point started;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

[[noreturn]] void usage() {
    std::fputs(
        "usage: pdp_floor --url URL --body FILE --count N [--warmup N] [--expect TEXT]\n"
        "                 [--pause-us N] [--latency-out FILE] [--clients N [--multiplex]] [--cacert FILE]\n",
        stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--multiplex") {
            o.multiplex = true;
            continue;
        }
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (a == "--url")
            o.url = v;
        else if (a == "--body")
            o.body_file = v;
        else if (a == "--count")
            o.count = std::strtoul(v, nullptr, 10);
        else if (a == "--warmup")
            o.warmup = std::strtoul(v, nullptr, 10);
        else if (a == "--expect")
            o.expect = v;
        else if (a == "--pause-us")
            o.pause_us = std::strtoul(v, nullptr, 10);
        else if (a == "--latency-out")
            o.latency_out = v;
        else if (a == "--clients")
            o.clients = std::strtoul(v, nullptr, 10);
        else if (a == "--cacert")
            o.cacert = v;
        else
            usage();
    }
    if (o.url.empty() || o.body_file.empty() || o.count == 0) usage();
    if (o.multiplex && o.clients == 0) usage();
    return o;
}

// The options vigild's HttpClient sets, and the request.
void configure(CURL* c, const Options& o, const std::string& body, curl_slist* headers, std::string* answer) {
    curl_easy_setopt(c, CURLOPT_URL, o.url.c_str());
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
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    if (!o.cacert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.cacert.c_str());
    // With --multiplex, wait for the one connection rather than open more.
    if (o.multiplex) curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
}

// Counts one finished request into out; i is its number, warm-up included.
void finish(Outcome& out, const Options& o, CURL* c, CURLcode rc, const std::string& answer, unsigned long i,
            Clock::duration took) {
    long status = 0, made = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &made);
    out.connections += made;
    bool ok = rc == CURLE_OK && status >= 200 && status < 300 &&
              (o.expect.empty() || answer.find(o.expect) != std::string::npos);
    if (!ok) {
        if (out.failures == 0) {
            std::fprintf(stderr, "pdp_floor: request %lu: %s, HTTP %ld: %.300s\n", i, curl_easy_strerror(rc), status,
                         answer.c_str());
        }
        ++out.failures;
    }
    if (i >= o.warmup) out.ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
}

// One handle, one request at a time, over one keep-alive connection.
Outcome run_one_by_one(const Options& o, const std::string& body, curl_slist* headers) {
    Outcome out;
    out.ns.reserve(o.count);
    Transfer t;
    t.easy = curl_easy_init();
    if (t.easy == nullptr) {
        out.failures = o.warmup + o.count;
        return out;
    }
    configure(t.easy, o, body, headers, &t.answer);
    for (unsigned long i = 0; i < o.warmup + o.count; ++i) {
        if (o.pause_us > 0 && i > 0) std::this_thread::sleep_for(std::chrono::microseconds(o.pause_us));
        t.answer.clear();
        auto t0 = Clock::now();
        CURLcode rc = curl_easy_perform(t.easy);
        finish(out, o, t.easy, rc, t.answer, i, Clock::now() - t0);
    }
    curl_easy_cleanup(t.easy);
    return out;
}

// o.clients requests in flight at once on one multi handle; each handle is
// sent again as soon as it is answered, until warm-up + count are done.
Outcome run_concurrent(const Options& o, const std::string& body, curl_slist* headers) {
    Outcome out;
    out.ns.reserve(o.count);
    CURLM* m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_PIPELINING, o.multiplex ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, o.multiplex ? 1L : static_cast<long>(o.clients));
    const unsigned long total = o.warmup + o.count;
    std::vector<std::unique_ptr<Transfer>> transfers;
    unsigned long sent = 0, done = 0;
    for (unsigned long k = 0; k < o.clients && sent < total; ++k, ++sent) {
        auto t = std::make_unique<Transfer>();
        t->easy = curl_easy_init();
        configure(t->easy, o, body, headers, &t->answer);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
        t->started = Clock::now();
        curl_multi_add_handle(m, t->easy);
        transfers.push_back(std::move(t));
    }
    while (done < total) {
        int running = 0;
        curl_multi_perform(m, &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(m, t->easy);
            finish(out, o, t->easy, rc, t->answer, done++, Clock::now() - t->started);
            if (sent < total) {
                ++sent;
                t->answer.clear();
                t->started = Clock::now();
                curl_multi_add_handle(m, t->easy);
            }
        }
        if (done < total) curl_multi_poll(m, nullptr, 0, 1000, nullptr);
    }
    for (auto& t : transfers) curl_easy_cleanup(t->easy);
    curl_multi_cleanup(m);
    return out;
}

bool write_latencies(const std::string& path, const std::vector<long long>& ns) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    for (long long v : ns) std::fprintf(f, "%lld\n", v);
    return std::fclose(f) == 0;
}

long long cpu_us() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](const timeval& t) { return static_cast<long long>(t.tv_sec) * 1000000 + t.tv_usec; };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    std::ifstream in(o.body_file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "pdp_floor: cannot read %s\n", o.body_file.c_str());
        return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();

    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    Outcome out = o.clients > 0 ? run_concurrent(o, body, headers) : run_one_by_one(o, body, headers);
    curl_slist_free_all(headers);
    curl_global_cleanup();

    if (!o.latency_out.empty() && !write_latencies(o.latency_out, out.ns)) {
        std::fprintf(stderr, "pdp_floor: cannot write %s\n", o.latency_out.c_str());
        return 2;
    }
    std::printf("requests=%lu connections=%ld failures=%lu cpu_us=%lld\n", o.warmup + o.count, out.connections,
                out.failures, cpu_us());
    return out.failures == 0 ? 0 : 1;
}
