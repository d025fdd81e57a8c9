// Runs a program for its output, with a deadline and a cap on what it may
// print: how posture collectors ask tools such as osqueryi and falconctl.
// Never through a shell; argv goes to the program as it is.
//
//   auto r = run_command({"/usr/bin/osqueryi", "--json", sql}, 10s, 1 << 20);
//   if (!r) log(r.error().message);        // "... killed after 10000 ms", "... not found"
//   else if (r->exit_code != 0) log(r->err);
//   else parse(r->out);
//
// The program runs in a process group of its own with stdin on /dev/null,
// default signal handling and mask (vigild blocks SIGTERM for its signalfd
// and ignores SIGPIPE; a child must not inherit that), no descriptors but
// 0-2, and a fixed PATH. Past the deadline, or once it prints more than
// max_output, the whole group is killed (SIGKILL), so a helper it forked
// cannot hold the pipe open and stall the collector.
#ifndef VIGIL_POSTURE_RUN_COMMAND_H
#define VIGIL_POSTURE_RUN_COMMAND_H

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "result.h"

namespace vigil::posture {

struct CommandOutput {
    int exit_code = 0;  // the exit status; 128 + N when killed by signal N
    std::string out;    // stdout, at most max_output bytes
    std::string err;    // the start of stderr (at most 4 KiB), for messages
};

// argv[0] must be an absolute path. An error when the program cannot be
// started, overran the deadline, or printed too much; a non-zero exit is
// not an error here (the caller knows what the program's codes mean).
Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                  size_t max_output);

}  // namespace vigil::posture

#endif
