// Helpers the posture collector tests share; defined in
// socket_collector_test.cc.
//
//   std::string dir = vigil::testing::posture_temp_dir();
//   std::string text = vigil::testing::posture_sample("wazuh/connected.state");
//   CHECK(vigil::testing::signal_in(store, "wazuh.status") == "connected");
#ifndef VIGIL_TESTS_UNIT_POSTURE_TESTING_H
#define VIGIL_TESTS_UNIT_POSTURE_TESTING_H

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "signal_store.h"

namespace vigil::testing {

// A fresh directory under /tmp.
std::string posture_temp_dir();
// A recorded sample under tests/posture/.
std::string posture_sample(const std::string& rel);
// The value of one signal in the store; "<missing>" when it has none.
std::string signal_in(const vigil::posture::SignalStore& store, const std::string& name);

// A unix-socket server on a thread that answers each request with reply().
class FakeUnixServer;
std::shared_ptr<FakeUnixServer> start_fake_unix_server(const std::string& path,
                                                       std::function<std::string(const std::string&)> reply,
                                                       std::chrono::milliseconds delay, bool hold_open);
int connections_to(const FakeUnixServer& s);

}  // namespace vigil::testing

#endif
