// The query the PDP answer targets are judged against: alice asking for sudo
// on a host, as build_pdp_query shapes it.
#ifndef VIGIL_TESTS_FUZZ_PDP_FIXTURE_H
#define VIGIL_TESTS_FUZZ_PDP_FIXTURE_H

#include "pdp_query.h"

inline vigil::PdpQuery fuzz_query(const char* user, const char* action) {
    vigil::PdpQuery q;
    q.subject = {{"type", "user"}, {"id", user}, {"properties", {{"uid", 2001}, {"groups", {"ops"}}}}};
    q.action = {{"name", action}, {"properties", {{"service", action}, {"tty", "/dev/pts/0"}}}};
    q.resource = {{"type", "host"}, {"id", "vault-01"}, {"properties", {{"labels", {{"env", "prod"}}}}}};
    q.context = {{"time", "2026-06-01T10:00:00Z"}, {"request_id", "r1"}};
    return q;
}

#endif
