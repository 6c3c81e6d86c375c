// test_env.h — helpers for end-to-end tests that run as root with the real
// bulwarkd (inside the test VM, or on the host for tracepoint mode): start and
// stop the daemon, run a child and collect how it ended, read the audit log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace testenv {

// How a child process ended.
struct Outcome {
    pid_t pid = -1;
    bool exited = false;
    int exit_code = -1;
    bool signaled = false;
    int signal = 0;
    std::string output;  // what the child wrote to its pipe / stdout
};

// Forks; the child runs fn(write_fd) and _exit()s with its return value.
Outcome run_child(const std::function<int(int out_fd)>& fn);
// Forks and execs argv (stdout+stderr captured into Outcome::output).
Outcome run_program(const std::vector<std::string>& argv);

// A child takes `path`'s file handle and opens the file by it
// (open_by_handle_at, `mount` any directory on its filesystem) -- after
// having the kernel drop every unused dentry and inode when `lose_path`, so
// that the kernel finds the file without its path (a disconnected dentry).
// It writes what /proc/self/fd says the descriptor's path is, a newline, and
// what it read: exit 0, or the errno of the open (90+ when a step before it
// failed).
Outcome read_by_handle_in_child(const std::string& path, const std::string& mount, bool lose_path);

// Child helper: the errno of open(path, flags), 0 on success (fd closed).
int open_errno(const std::string& path, int flags);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content, int mode = 0644);

// The daemon under test.
class Daemon {
public:
    // Starts bulwarkd with the given settings file and waits for READY=1 on
    // a private NOTIFY_SOCKET.  Throws with the daemon's output on failure.
    void start(const std::string& bulwarkd, const std::string& config,
               std::chrono::seconds timeout = std::chrono::seconds(120));
    // Starts bulwarkd in `d`: 0 once it is ready, or its exit status when it
    // exits first (a configuration it must refuse).  Its output in `output`.
    static int run_to_exit_or_ready(const std::string& bulwarkd, const std::string& config, std::string& output,
                                    Daemon& d);
    // SIGTERM and wait; returns the exit status (or 128+signal).
    int stop(std::chrono::seconds timeout = std::chrono::seconds(60));
    // SIGKILL (a crash, `kill -9`) and reap; returns 128+SIGKILL.
    int kill_hard();
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }
    // Every sd_notify message the daemon sent before READY=1 (STATUS=...).
    const std::vector<std::string>& notify_messages() const { return messages_; }
    // The daemon's stdout+stderr so far (start() captures it to a file).
    std::string output() const;

private:
    pid_t pid_ = -1;
    std::vector<std::string> messages_;
    std::string log_path_;
    int exit_status_ = -1;  // set when it exited before READY=1
};

// Waits until the audit log holds a record for which pred is true; returns
// every such record (empty on timeout).
std::vector<nlohmann::json> wait_for_audit(const std::string& audit_log,
                                           const std::function<bool(const nlohmann::json&)>& pred,
                                           std::chrono::seconds timeout = std::chrono::seconds(30));
std::vector<nlohmann::json> audit_records(const std::string& audit_log);

// Moves the calling process into a cgroup v2 directory (creating it).
void join_cgroup(const std::string& dir);

// Exec tests: suite binaries double as the programs they exec.  Called with
// kToolArg, a suite's main() must return kToolExit at once (is_tool_call).
inline constexpr const char* kToolArg = "--bulwark-test-tool";
inline constexpr int kToolExit = 42;
bool is_tool_call(int argc, char** argv);
// This binary's own path (/proc/self/exe): copy it to make test tools.
std::string self_exe();

// Execs `path` (as a tool) in a grandchild that first joins `cgroup` ("" =
// stays where it is).  Returns how the exec'd process ended: its exit status
// (kToolExit if it ran), 200 + errno if execve failed, 128 + signal if killed.
int exec_status(const std::string& path, const std::string& cgroup);

// A suite's main(): tool calls, then setup(), then the daemon started with
// `config`, then run_tests() (the suite's Catch2 session), then the daemon
// stopped (a daemon that does not stop with status 0 fails the run).
int suite_main(int argc, char** argv, const std::function<void()>& setup, Daemon& daemon,
               const std::string& bulwarkd, const std::string& config, const std::function<int()>& run_tests);

}  // namespace testenv
