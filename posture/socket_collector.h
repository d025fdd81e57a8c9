// Posture from any local agent that answers JSON on a unix socket (an EDR
// sensor's status socket, a home-grown health daemon). Every interval: one
// connection, the configured request, one JSON answer; the configured fields
// become signals.
//
//   SocketSettings s;
//   s.name = "edr";
//   s.path = "/run/edr.sock";
//   s.request = "status\n";
//   s.fields = {{"state", "sensor.state"}, {"score", "health.score"}};
//   SocketCollector c(s, store);
//   c.start();   ...   c.stop();
//
// Signals: <name>.<field> = the value at the field's dotted path (strings as
// they are, numbers and booleans as JSON text), and <name>.reachable =
// "true" or "false". When the agent cannot be asked or its answer cannot be
// read (no socket, nothing listening, past the timeout, not JSON, larger
// than max_response, or served by a process that is not root or peer_user:
// see unix_exchange.h), every field signal is forgotten (missing: a rule
// that requires one denies) and reachable is "false". A field the answer
// lacks is missing on its own. Each change of state is logged once.
//
// The answer ends at the closing bracket of a top-level object or array, at
// the first newline for anything else, or when the agent closes the
// connection; bytes after it are ignored.
#ifndef VIGIL_POSTURE_SOCKET_COLLECTOR_H
#define VIGIL_POSTURE_SOCKET_COLLECTOR_H

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "collector.h"
#include "interval_thread.h"
#include "result.h"
#include "signal_group.h"
#include "signal_store.h"

namespace vigil::posture {

struct SocketSettings {
    std::string name;                         // signal prefix: "<name>.<field>", "<name>.reachable"
    std::string path;                         // the agent's unix socket
    std::string request;                      // bytes sent once connected; may be empty
    std::chrono::milliseconds timeout{1000};  // connect + send + answer, together
    std::chrono::milliseconds interval{10000};
    std::chrono::seconds max_age{0};            // its signals' Signal::max_age; 0 = [posture] max_age
    std::map<std::string, std::string> fields;  // signal suffix -> dotted JSON path ("health.score")
    size_t max_response = 64 * 1024;            // a larger answer is a failure, not truncated
    std::string peer_user;                      // besides root, who may listen on path (name or uid)
};

// Ok when s can be run: names fit for signals, no field called "reachable",
// paths well formed, 0 < timeout <= interval, max_response 1 byte..16 MiB,
// peer_user a user name or uid.
Status validate(const SocketSettings& s);

// The signals in one answer. An error when the answer is not JSON.
Result<Reading> parse_socket_answer(std::string_view answer, const SocketSettings& s);

class SocketCollector : public Collector {
public:
    SocketCollector(SocketSettings settings, SignalStore& store);
    ~SocketCollector() override;

    void start() override;
    void stop() override;
    // One round: ask the agent, publish or forget. The thread runs this
    // every interval; tests call it directly.
    void collect_once();

private:
    std::string reachable_name() const;

    SocketSettings s_;
    SignalGroup group_;
    IntervalThread thread_;
};

}  // namespace vigil::posture

#endif
