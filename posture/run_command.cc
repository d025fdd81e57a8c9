#include "run_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "unique_fd.h"

namespace vigil::posture {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxStderr = 4096;
constexpr auto kReapPoll = std::chrono::milliseconds(5);
const char* const kEnv[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};

struct Pipe {
    UniqueFd read, write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return err(fmt::format("pipe: {}", std::strerror(errno)));
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The spawn attributes and file actions, freed however we leave.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    void prepare(int out_fd, int err_fd) {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
        posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
        // Whatever vigild has open without O_CLOEXEC stays with vigild.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    }
};

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

// A running child: killed and reaped when we give up on it.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid) {}
    ~Child() {
        if (pid_ > 0) kill_and_reap();
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    void kill_and_reap() {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

    // The exit code, or std::nullopt if still running at the deadline.
    std::optional<int> wait_until(Clock::time_point deadline) {
        for (;;) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return exit_code_of(status);
            }
            if (r < 0 && errno != EINTR) {
                pid_ = -1;
                return 255;
            }
            if (Clock::now() >= deadline) return std::nullopt;
            std::this_thread::sleep_for(kReapPoll);
        }
    }

private:
    pid_t pid_;
};

// Reads both pipes until both close. false when the deadline passed or
// stdout overran max_output (then `why` says which).
bool drain(int out_fd, int err_fd, Clock::time_point deadline, size_t max_output, CommandOutput& o, std::string& why) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    char buf[16 * 1024];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        int n = ::poll(fds, 2, ms_left(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            why = "timeout";
            return false;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                fds[i].fd = -1;  // closed (or broken): nothing more from this one
                continue;
            }
            if (i == 0) {
                if (o.out.size() + static_cast<size_t>(got) > max_output) {
                    why = "too much";
                    return false;
                }
                o.out.append(buf, static_cast<size_t>(got));
            } else if (o.err.size() < kMaxStderr) {
                // Only the start of stderr is kept, but all of it is read so
                // the program never blocks writing it.
                o.err.append(buf, std::min(static_cast<size_t>(got), kMaxStderr - o.err.size()));
            }
        }
    }
    return true;
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  size_t max_output) {
    if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
        return err("the program must be named by an absolute path");
    }
    const std::string& prog = argv[0];
    auto deadline = Clock::now() + timeout;
    auto out = make_pipe();
    if (!out) return out.error();
    auto errp = make_pipe();
    if (!errp) return errp.error();

    SpawnSetup setup;
    setup.prepare(out->write.get(), errp->write.get());
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc =
        ::posix_spawn(&pid, prog.c_str(), &setup.actions, &setup.attr, args.data(), const_cast<char* const*>(kEnv));
    if (rc != 0) {
        if (rc == ENOENT) return err(fmt::format("{} not found", prog));
        return err(fmt::format("cannot run {}: {}", prog, std::strerror(rc)));
    }
    Child child(pid);
    // Our copies of the write ends must go, or the pipes never reach EOF.
    out->write.reset();
    errp->write.reset();

    CommandOutput o;
    std::string why;
    if (!drain(out->read.get(), errp->read.get(), deadline, max_output, o, why)) {
        child.kill_and_reap();
        if (why == "too much") return err(fmt::format("{} printed more than {} bytes; killed", prog, max_output));
        return err(fmt::format("{} did not finish within {} ms; killed", prog, timeout.count()));
    }
    auto code = child.wait_until(deadline);
    if (!code) {
        child.kill_and_reap();
        return err(fmt::format("{} did not exit within {} ms; killed", prog, timeout.count()));
    }
    o.exit_code = *code;
    return o;
}

}  // namespace vigil::posture
