// The loopback HTTP(S) test server the transport tests share; defined in
// http_client_test.cc.
//
//   auto server = vigil::testing::start_test_server(200, false);
//   client->post(vigil::testing::url_of(*server) + "/x", "{}", 500ms);
#ifndef VIGIL_TESTS_UNIT_HTTP_TESTING_H
#define VIGIL_TESTS_UNIT_HTTP_TESTING_H

#include <memory>
#include <string>

namespace vigil::testing {

class TestHttpServer;
// Answers every request with `status`; a silent server accepts and never answers.
std::shared_ptr<TestHttpServer> start_test_server(int status, bool silent);
std::string url_of(const TestHttpServer& server);
int requests_to(const TestHttpServer& server);
void set_status(TestHttpServer& server, int status);
void set_body(TestHttpServer& server, const std::string& body);
std::string last_request_of(const TestHttpServer& server);
// A loopback port nothing listens on.
int closed_port();

}  // namespace vigil::testing

#endif
