#include "bench/workload.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_env.h"

extern char** environ;

namespace bench {
namespace {

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void sleep_until(double t) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(t);
    ts.tv_nsec = static_cast<long>((t - double(ts.tv_sec)) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

// Child side of run_loop: the loop itself.  Returns 0 and writes the
// seconds taken to out_fd, or a non-zero status with a message.
int loop_child(Workload w, const std::string& target, uint64_t ops, const std::string& cgroup, int out_fd) {
    auto fail = [&](const std::string& what) {
        std::string m = "ERROR " + what + ": " + std::strerror(errno);
        (void)!write(out_fd, m.data(), m.size());
        return 1;
    };
    if (!cgroup.empty()) {
        try {
            testenv::join_cgroup(cgroup);
        } catch (const std::exception& e) {
            errno = 0;
            return fail(e.what());
        }
    }
    double t0 = 0, t1 = 0;
    switch (w) {
        case Workload::open: {
            t0 = now_s();
            for (uint64_t i = 0; i < ops; ++i) {
                int fd = open(target.c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0) return fail("open " + target);
                close(fd);
            }
            t1 = now_s();
            break;
        }
        case Workload::read: {
            int fd = open(target.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) return fail("open " + target);
            char buf[4096];
            t0 = now_s();
            for (uint64_t i = 0; i < ops; ++i)
                if (pread(fd, buf, sizeof(buf), 0) < 0) return fail("pread " + target);
            t1 = now_s();
            close(fd);
            break;
        }
        case Workload::exec: {
            char* argv[] = {const_cast<char*>(target.c_str()), nullptr};
            t0 = now_s();
            for (uint64_t i = 0; i < ops; ++i) {
                pid_t pid = 0;
                if (int e = posix_spawn(&pid, target.c_str(), nullptr, nullptr, argv, environ); e) {
                    errno = e;
                    return fail("spawn " + target);
                }
                int st = 0;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
                }
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                    errno = 0;
                    return fail(target + " did not exit 0 (status " + std::to_string(st) + ")");
                }
            }
            t1 = now_s();
            break;
        }
    }
    const std::string s = std::to_string(t1 - t0);
    (void)!write(out_fd, s.data(), s.size());
    return 0;
}

}  // namespace

const char* name(Workload w) {
    switch (w) {
        case Workload::open: return "open";
        case Workload::read: return "read";
        case Workload::exec: return "exec";
    }
    return "?";
}

double run_loop(Workload w, const std::string& target, uint64_t ops, const std::string& cgroup) {
    auto o = testenv::run_child([&](int fd) { return loop_child(w, target, ops, cgroup, fd); });
    if (!o.exited || o.exit_code != 0)
        throw std::runtime_error(std::string(name(w)) + " loop on " + target + " failed: " +
                                 (o.signaled ? "killed by signal " + std::to_string(o.signal) : o.output));
    return std::stod(o.output) * 1e9 / double(ops);
}

StormRun run_storm(const std::string& path, int procs, uint64_t per_proc, double rate) {
    std::vector<pid_t> pids;
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    for (int p = 0; p < procs; ++p) {
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork");
        if (pid == 0) {
            close(ready[0]);
            close(go[1]);
            (void)!write(ready[1], "r", 1);
            char c;
            if (read(go[0], &c, 1) != 1) _exit(3);  // the parent says go by closing
            const double per_proc_rate = rate / procs;
            const double start = now_s();
            for (uint64_t i = 0; i < per_proc; ++i) {
                if (rate > 0 && (i & 63) == 0) sleep_until(start + double(i) / per_proc_rate);
                int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0) _exit(2);
                close(fd);
            }
            _exit(0);
        }
        pids.push_back(pid);
    }
    close(ready[1]);
    close(go[0]);
    for (int p = 0; p < procs; ++p) {
        char c;
        if (read(ready[0], &c, 1) != 1) throw std::runtime_error("storm producer did not start");
    }
    const double t0 = now_s();
    (void)!write(go[1], std::string(size_t(procs), 'g').data(), size_t(procs));
    close(go[1]);
    close(ready[0]);
    bool ok = true;
    for (pid_t pid : pids) {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    const double t1 = now_s();
    if (!ok) throw std::runtime_error("a storm producer failed to open " + path);
    return {uint64_t(procs) * per_proc, t1 - t0};
}

std::string open_outcome(const std::string& path) {
    auto o = testenv::run_child([&](int) {
        const int err = testenv::open_errno(path, O_RDONLY);
        return err == 0 ? 0 : (err == EPERM || err == EACCES) ? 10 : 11;
    });
    if (o.signaled && o.signal == SIGKILL) return "killed";
    if (o.exited && o.exit_code == 10) return "denied";
    if (o.exited && o.exit_code == 0) return "allowed";
    return "error";
}

}  // namespace bench
