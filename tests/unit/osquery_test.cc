// osquery: osqueryi's --json rows against recorded-shape samples, the
// command runner's deadline and output cap (a stand-in osqueryi that hangs,
// floods, forks a helper, fails), and one query failing apart from the rest.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "osquery_collector.h"
#include "osquery_rows.h"
#include "posture_testing.h"
#include "run_command.h"

using namespace std::chrono_literals;
using vigil::posture::OsqueryCollector;
using vigil::posture::OsquerySettings;
using vigil::posture::parse_osquery_rows;
using vigil::posture::run_command;
using vigil::posture::SignalStore;

using vigil::testing::posture_sample;
using vigil::testing::signal_in;

namespace {

void write_script(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    ::chmod(path.c_str(), 0755);
}

// Orphans are reaped by whoever is pid 1 here, maybe late: a zombie counts as dead.
bool dead_or_zombie(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    return close != std::string::npos && line.substr(close + 2, 1) == "Z";
}

}  // namespace

TEST_CASE("osquery rows: first row, first column in the query's order, or the named one") {
    CHECK(*parse_osquery_rows(posture_sample("osquery/disk_encryption.json"), "") == "/dev/dm-0");
    CHECK(*parse_osquery_rows(posture_sample("osquery/disk_encryption.json"), "encrypted") == "1");
    CHECK(*parse_osquery_rows(posture_sample("osquery/count.json"), "") == "14");
    CHECK(*parse_osquery_rows(posture_sample("osquery/os_version.json"), "version") == "12 (bookworm)");
    // "zeta" sorts last but comes first: the query's order wins.
    CHECK(*parse_osquery_rows(R"([{"zeta":"z","alpha":"a"}])", "") == "z");
    CHECK(*parse_osquery_rows(R"([{"n":3},{"n":4}])", "n") == "3");
    CHECK(*parse_osquery_rows(R"([{"b":true}])", "") == "true");
}

TEST_CASE("osquery rows: empty, garbage, truncated, wrong shapes") {
    CHECK(parse_osquery_rows(posture_sample("osquery/empty.json"), "").error().message == "the query returned no rows");
    CHECK(parse_osquery_rows(posture_sample("osquery/error_stderr.txt"), "").error().message ==
          "osqueryi's output is not a JSON array of rows");
    std::string truncated = posture_sample("osquery/disk_encryption.json");
    CHECK(!parse_osquery_rows(truncated.substr(0, truncated.size() / 2), ""));
    CHECK(!parse_osquery_rows("", ""));
    CHECK(!parse_osquery_rows(R"({"n":"1"})", ""));
    CHECK(parse_osquery_rows(R"([["1"]])", "").error().message == "the first row is not an object with columns");
    CHECK(parse_osquery_rows(R"([{}])", "").error().message == "the first row is not an object with columns");
    CHECK(parse_osquery_rows(R"([{"a":"1"}])", "b").error().message == "the first row has no column \"b\"");
    CHECK(parse_osquery_rows(R"([{"a":null}])", "").error().message == "column \"a\" is null");
    std::string huge = "[{\"a\":\"" + std::string(1 << 20, 'x') + "\"}]";
    CHECK(parse_osquery_rows(huge, "")->size() == (1u << 20));  // the signal group refuses it later
}

TEST_CASE("run_command: output, exit codes, stderr") {
    auto r = run_command({"/bin/echo", "a b", "c"}, 2s, 1024);
    REQUIRE(r);
    CHECK(r->out == "a b c\n");
    CHECK(r->exit_code == 0);
    auto fail = run_command({"/bin/sh", "-c", "echo oops >&2; exit 3"}, 2s, 1024);
    REQUIRE(fail);
    CHECK(fail->exit_code == 3);
    CHECK(fail->err == "oops\n");
    auto killed = run_command({"/bin/sh", "-c", "kill -9 $$"}, 2s, 1024);
    REQUIRE(killed);
    CHECK(killed->exit_code == 128 + 9);
}

TEST_CASE("run_command: no shell, an absolute path, a clean environment") {
    auto r = run_command({"/bin/echo", "$(id)", ";", "|"}, 2s, 1024);
    REQUIRE(r);
    CHECK(r->out == "$(id) ; |\n");
    CHECK(!run_command({"echo", "x"}, 2s, 1024));
    CHECK(run_command({"/nonexistent/osqueryi"}, 2s, 1024).error().message == "/nonexistent/osqueryi not found");
    CHECK(!run_command({}, 2s, 1024));
    auto env = run_command({"/usr/bin/env"}, 2s, 4096);
    REQUIRE(env);
    CHECK(env->out == "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLC_ALL=C\n");
    auto in = run_command({"/bin/cat"}, 2s, 1024);  // stdin is /dev/null: cat ends at once
    REQUIRE(in);
    CHECK(in->out.empty());
    auto fds = run_command({"/bin/sh", "-c", "ls /proc/self/fd | wc -l"}, 2s, 1024);
    REQUIRE(fds);
    CHECK(fds->out == "4\n");  // 0, 1, 2 and ls's own directory handle
}

TEST_CASE("run_command: deadline kills the whole process group") {
    std::string dir = vigil::testing::posture_temp_dir();
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_command({"/bin/sh", "-c", "sleep 10"}, 200ms, 1024);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    CHECK(r.error().message == "/bin/sh did not finish within 200 ms; killed");
    // A helper that keeps stdout open after its parent exits is killed too.
    std::string pidfile = dir + "/helper.pid";
    t0 = std::chrono::steady_clock::now();
    auto r2 = run_command({"/bin/sh", "-c", "sleep 10 & echo $! > " + pidfile + "; exit 0"}, 300ms, 1024);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    CHECK(!r2);
    std::ifstream in(pidfile);
    pid_t helper = 0;
    in >> helper;
    REQUIRE(helper > 0);
    std::this_thread::sleep_for(50ms);
    CHECK(dead_or_zombie(helper));
    std::filesystem::remove_all(dir);
}

TEST_CASE("run_command: output past the cap kills it") {
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_command({"/bin/sh", "-c", "yes"}, 5s, 64 * 1024);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    CHECK(r.error().message == "/bin/sh printed more than 65536 bytes; killed");
    auto noisy = run_command({"/bin/sh", "-c", "head -c 1000000 /dev/zero >&2; echo ok"}, 5s, 1024);
    REQUIRE(noisy);
    CHECK(noisy->out == "ok\n");
    CHECK(noisy->err.size() == 4096);
}

TEST_CASE("validate(OsquerySettings)") {
    OsquerySettings s;
    CHECK(!vigil::posture::validate(s));  // no queries
    s.queries["disk"] = {"SELECT 1", ""};
    CHECK(vigil::posture::validate(s));
    s.queries["bad name"] = {"SELECT 1", ""};
    CHECK(!vigil::posture::validate(s));
    s.queries.erase("bad name");
    s.queries["empty"] = {"  ", ""};
    CHECK(!vigil::posture::validate(s));
    s.queries.erase("empty");
    s.binary = "osqueryi";
    CHECK(!vigil::posture::validate(s));
}

TEST_CASE("osquery collector: each query its own signal, failing apart") {
    std::string dir = vigil::testing::posture_temp_dir();
    std::string samples = std::string(VIGIL_SOURCE_DIR) + "/tests/posture/osquery/";
    // A stand-in osqueryi: the SQL picks a recorded answer or a misbehaviour.
    write_script(dir + "/osqueryi",
                 "#!/bin/sh\n"
                 "[ \"$1\" = --json ] || exit 9\n"
                 "case \"$2\" in\n"
                 "  *disk_encryption*) cat " +
                     samples +
                     "disk_encryption.json ;;\n"
                     "  *count*) cat " +
                     samples +
                     "count.json ;;\n"
                     "  *nothing*) cat " +
                     samples +
                     "empty.json ;;\n"
                     "  *hang*) sleep 10 ;;\n"
                     "  *flood*) yes ;;\n"
                     "  *) cat " +
                     samples +
                     "error_stderr.txt >&2; exit 1 ;;\n"
                     "esac\n");
    OsquerySettings s;
    s.binary = dir + "/osqueryi";
    s.timeout = 300ms;
    s.max_output = 64 * 1024;
    s.queries = {{"disk_encrypted", {"SELECT * FROM disk_encryption", "encrypted"}},
                 {"listeners", {"SELECT count(*) AS n FROM listening_ports", ""}},
                 {"none", {"SELECT nothing", ""}},
                 {"hung", {"SELECT hang", ""}},
                 {"flooded", {"SELECT flood", ""}},
                 {"typo", {"SELECT * FROM no_such_table", ""}}};
    REQUIRE(vigil::posture::validate(s));
    SignalStore store;
    OsqueryCollector c(s, store);
    auto t0 = std::chrono::steady_clock::now();
    c.collect_once();
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(signal_in(store, "osquery.disk_encrypted") == "1");
    CHECK(signal_in(store, "osquery.listeners") == "14");
    CHECK(signal_in(store, "osquery.none") == "<missing>");
    CHECK(signal_in(store, "osquery.hung") == "<missing>");
    CHECK(signal_in(store, "osquery.flooded") == "<missing>");
    CHECK(signal_in(store, "osquery.typo") == "<missing>");
    for (const auto& sig : store.snapshot()) CHECK(sig.source == "osquery");

    // osqueryi uninstalled: every signal goes missing.
    std::filesystem::remove(dir + "/osqueryi");
    c.collect_once();
    CHECK(store.snapshot().empty());
    std::filesystem::remove_all(dir);
}
