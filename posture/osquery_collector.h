// Posture from osquery: fixed SQL queries run through osqueryi, each one's
// answer a signal. No osqueryd or extension socket is needed; osqueryi runs
// the query against the live host and exits.
//
//   OsquerySettings s;
//   s.queries["disk_encrypted"] = {"SELECT encrypted FROM disk_encryption WHERE name =
//   '/dev/dm-0'", ""}; s.queries["firewall_rules"] = {"SELECT count(*) AS n FROM iptables", "n"};
//   OsqueryCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Signals: osquery.<suffix> = the first row's value in the query's column
// (the first column when none is named). Every interval each query runs as
// `<binary> --json <sql>`, never through a shell, killed at its timeout.
// Queries fail apart: one that errs, times out, prints too much or returns
// no rows makes its own signal missing, not the others. The binary is run
// only while root (or vigild's own uid) owns it and every directory above
// it, and nobody else can write them (trusted_path.h).
#ifndef VIGIL_POSTURE_OSQUERY_COLLECTOR_H
#define VIGIL_POSTURE_OSQUERY_COLLECTOR_H

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"

namespace vigil::posture {

struct OsqueryQuery {
    std::string sql;
    std::string column;  // empty: the first column
};

struct OsquerySettings {
    std::string binary = "/usr/bin/osqueryi";
    std::map<std::string, OsqueryQuery> queries;  // signal suffix -> query
    std::chrono::milliseconds timeout{10000};     // for each query
    std::chrono::milliseconds interval{30000};
    std::chrono::seconds max_age{0};  // its signals' Signal::max_age; 0 = [posture] max_age
    size_t max_output = 1024 * 1024;  // per query; more is a failure
};

// Ok when the binary is an absolute path, there is at least one query, every
// suffix is fit for a signal name, no SQL is empty, 0 < timeout <= interval.
Status validate(const OsquerySettings& s);

class OsqueryCollector : public Collector {
public:
    OsqueryCollector(OsquerySettings settings, SignalStore& store);
    ~OsqueryCollector() override;

    void start() override;
    void stop() override;
    // One round: every query once. Tests call it directly.
    void collect_once();

private:
    void run_query(const std::string& suffix, const OsqueryQuery& q, SignalGroup& group);

    OsquerySettings s_;
    std::map<std::string, std::unique_ptr<SignalGroup>> groups_;  // by suffix
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
