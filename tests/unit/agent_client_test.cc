#include "agent_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "deadline_io.h"
#include "protocol.h"
#include "unique_fd.h"

using namespace vigil;

namespace {

struct Pair {
    UniqueFd module, agent;
};

Pair socket_pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string answer_frame(std::string_view outcome) {
    std::array<uint8_t, 256> buf{};
    wire::Writer w(buf.data(), buf.size());
    w.put(wire::Tag::Outcome, outcome);
    size_t n = w.finish(wire::answer_to(wire::Kind::Account));
    return std::string(reinterpret_cast<const char*>(buf.data()), n);
}

}  // namespace

TEST_CASE("an answer that arrived before the module looked is read even past its deadline") {
    // A loaded host can leave the module unscheduled until after its
    // deadline; vigild's deny, already in the socket, must win over the
    // failmode (which may be open).
    Pair p = socket_pair();
    std::string frame = answer_frame(wire::kOutcomeDeny);
    REQUIRE(write(p.agent.get(), frame.data(), frame.size()) == static_cast<ssize_t>(frame.size()));
    wire::AgentAnswer answer;
    int64_t long_gone = wire::monotonic_ms() - 5000;
    REQUIRE(wire::receive_answer(p.module.get(), wire::Kind::Account, long_gone, answer) == wire::ClientStatus::Ok);
    CHECK(answer.outcome == wire::kOutcomeDeny);
}

TEST_CASE("past its deadline, a missing or partial answer is a timeout at once, never a wait") {
    wire::AgentAnswer answer;
    int64_t long_gone = wire::monotonic_ms() - 5000;
    SECTION("nothing sent") {
        Pair p = socket_pair();
        CHECK(wire::receive_answer(p.module.get(), wire::Kind::Account, long_gone, answer) ==
              wire::ClientStatus::Timeout);
    }
    SECTION("half a frame sent") {
        Pair p = socket_pair();
        std::string frame = answer_frame(wire::kOutcomeAllow);
        REQUIRE(write(p.agent.get(), frame.data(), frame.size() / 2) == static_cast<ssize_t>(frame.size() / 2));
        CHECK(wire::receive_answer(p.module.get(), wire::Kind::Account, long_gone, answer) ==
              wire::ClientStatus::Timeout);
    }
    SECTION("the agent hung up") {
        Pair p = socket_pair();
        p.agent.reset();
        CHECK(wire::receive_answer(p.module.get(), wire::Kind::Account, long_gone, answer) ==
              wire::ClientStatus::Closed);
    }
}

TEST_CASE("an answer of another kind is garbage, whenever it is read") {
    Pair p = socket_pair();
    std::array<uint8_t, 256> buf{};
    wire::Writer w(buf.data(), buf.size());
    w.put(wire::Tag::Outcome, wire::kOutcomeAllow);
    size_t n = w.finish(wire::answer_to(wire::Kind::OpenSession));
    REQUIRE(write(p.agent.get(), buf.data(), n) == static_cast<ssize_t>(n));
    wire::AgentAnswer answer;
    CHECK(wire::receive_answer(p.module.get(), wire::Kind::Account, wire::monotonic_ms() + 1000, answer) ==
          wire::ClientStatus::Garbage);
}
