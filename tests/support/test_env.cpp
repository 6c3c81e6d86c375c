#include "test_env.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testenv {
namespace {

std::string drain(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            out.append(buf, size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    return out;
}

Outcome wait_outcome(pid_t pid, int out_fd) {
    Outcome o;
    o.pid = pid;
    o.output = drain(out_fd);
    close(out_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        o.exited = true;
        o.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        o.signaled = true;
        o.signal = WTERMSIG(status);
    }
    return o;
}

}  // namespace

Outcome run_child(const std::function<int(int)>& fn) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        close(p[0]);
        int rc = fn(p[1]);
        _exit(rc);
    }
    close(p[1]);
    return wait_outcome(pid, p[0]);
}

Outcome read_by_handle_in_child(const std::string& path, const std::string& mount, bool lose_path) {
    return run_child([path, mount, lose_path](int out) {
        alignas(file_handle) unsigned char room[sizeof(file_handle) + MAX_HANDLE_SZ] = {};
        auto* fh = reinterpret_cast<file_handle*>(room);
        fh->handle_bytes = MAX_HANDLE_SZ;
        int mount_id = 0;
        if (name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mount_id, 0) != 0) return 90;
        const int mfd = open(mount.c_str(), O_RDONLY | O_DIRECTORY);
        if (mfd < 0) return 91;
        if (lose_path) {
            sync();
            const int drop = open("/proc/sys/vm/drop_caches", O_WRONLY);
            if (drop < 0 || write(drop, "2", 1) != 1) return 92;
            close(drop);
        }
        const int fd = open_by_handle_at(mfd, fh, O_RDONLY);
        if (fd < 0) return errno;
        char link[512] = {};
        const ssize_t l = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof(link) - 1);
        char buf[256];
        const ssize_t n = read(fd, buf, sizeof(buf));
        const std::string got =
            std::string(link, l > 0 ? size_t(l) : 0) + "\n" + std::string(buf, n > 0 ? size_t(n) : 0);
        return n >= 0 && write(out, got.data(), got.size()) == ssize_t(got.size()) ? 0 : 99;
    });
}

Outcome run_program(const std::vector<std::string>& argv) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(p[1]);
    return wait_outcome(pid, p[0]);
}

int open_errno(const std::string& path, int flags) {
    int fd = open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return errno;
    close(fd);
    return 0;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& content, int mode) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("create " + path + ": " + strerror(errno));
    if (write(fd, content.data(), content.size()) != ssize_t(content.size()))
        throw std::runtime_error("write " + path);
    fchmod(fd, static_cast<mode_t>(mode));
    close(fd);
}

void Daemon::start(const std::string& bulwarkd, const std::string& config, std::chrono::seconds timeout) {
    const std::string sock_path = "/run/bulwark-test-notify.sock";
    unlink(sock_path.c_str());
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
    if (sock < 0 || bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
        throw std::runtime_error("notify socket: " + std::string(strerror(errno)));

    log_path_ = config + ".bulwarkd.log";
    messages_.clear();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
        // Only the test reads the notify socket: the tee below must not keep
        // it open, or once its queue is full the daemon's sd_notify blocks.
        close(sock);
        setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
        // Output to the console and to a file the test can read.
        int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int p[2];
        if (fd >= 0 && pipe(p) == 0) {
            if (fork() == 0) {  // tee
                close(p[1]);
                char buf[4096];
                ssize_t n;
                while ((n = read(p[0], buf, sizeof(buf))) > 0) {
                    (void)!write(2, buf, size_t(n));
                    (void)!write(fd, buf, size_t(n));
                }
                _exit(0);
            }
            close(p[0]);
            dup2(p[1], 1);
            dup2(p[1], 2);
            close(p[1]);
        }
        execl(bulwarkd.c_str(), bulwarkd.c_str(), "--config", config.c_str(), nullptr);
        _exit(127);
    }
    // Wait for READY=1, or for the daemon to die.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            close(sock);
            throw std::runtime_error("bulwarkd exited before READY=1 (status " + std::to_string(status) + ")");
        }
        pollfd pfd{sock, POLLIN, 0};
        if (poll(&pfd, 1, 200) > 0) {
            char buf[4096];
            ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
            if (n > 0) {
                got.assign(buf, size_t(n));
                messages_.push_back(got);
                if (("\n" + got + "\n").find("\nREADY=1\n") != std::string::npos) {
                    close(sock);
                    // Its output reaches the file through a tee: wait until
                    // the line it logs right after READY=1 is there, so that
                    // output() holds everything it said while starting.
                    while (output().find("daemon: ready; control socket") == std::string::npos) {
                        if (std::chrono::steady_clock::now() >= deadline)
                            throw std::runtime_error("bulwarkd's start-up output did not arrive");
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                    }
                    return;
                }
            }
        }
    }
    close(sock);
    throw std::runtime_error("bulwarkd sent no READY=1 within the timeout (last message: " + got + ")");
}

std::string Daemon::output() const { return log_path_.empty() ? std::string() : read_file(log_path_); }

int Daemon::run_to_exit_or_ready(const std::string& bulwarkd, const std::string& config, std::string& output,
                                 Daemon& d) {
    try {
        d.start(bulwarkd, config);
        output = d.output();
        return 0;
    } catch (const std::exception&) {
        output = d.output();
        if (d.exit_status_ < 0) throw;
        return d.exit_status_;
    }
}

int Daemon::stop(std::chrono::seconds timeout) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) break;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            pid_ = -1;
            return 128 + SIGKILL;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

std::vector<nlohmann::json> audit_records(const std::string& audit_log) {
    std::vector<nlohmann::json> out;
    std::ifstream in(audit_log, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Only lines the daemon has finished: a record being appended while we read
    // can show up as a fragment without its newline; it is read on the next try.
    size_t pos = 0;
    for (size_t end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1) {
        if (end == pos) continue;
        out.push_back(nlohmann::json::parse(text.substr(pos, end - pos)));  // a malformed line fails the test
    }
    return out;
}

std::vector<nlohmann::json> wait_for_audit(const std::string& audit_log,
                                           const std::function<bool(const nlohmann::json&)>& pred,
                                           std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<nlohmann::json> hits;
        for (auto& r : audit_records(audit_log))
            if (pred(r)) hits.push_back(std::move(r));
        if (!hits.empty() || std::chrono::steady_clock::now() > deadline) return hits;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void join_cgroup(const std::string& dir) {
    mkdir(dir.c_str(), 0755);
    const std::string procs = dir + "/cgroup.procs";
    const std::string pid = std::to_string(getpid()) + "\n";
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid.data(), pid.size()) != ssize_t(pid.size()))
        throw std::runtime_error("join " + dir + ": " + strerror(errno));
    close(fd);
}

bool is_tool_call(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], kToolArg) == 0) return true;
    return false;
}

std::string self_exe() {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) throw std::runtime_error("readlink /proc/self/exe");
    return std::string(self, size_t(n));
}

int exec_status(const std::string& path, const std::string& cgroup) {
    Outcome o = run_child([&](int) {
        if (!cgroup.empty()) join_cgroup(cgroup);
        // Exec through a grandchild so this child can report execve's errno.
        Outcome t = run_child([&](int) {
            execl(path.c_str(), path.c_str(), kToolArg, nullptr);
            return 200 + errno;
        });
        return t.signaled ? 128 + t.signal : t.exit_code;
    });
    return o.exited ? o.exit_code : -1;
}

int Daemon::kill_hard() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int suite_main(int argc, char** argv, const std::function<void()>& setup, Daemon& daemon,
               const std::string& bulwarkd, const std::string& config, const std::function<int()>& run_tests) {
    if (is_tool_call(argc, argv)) return kToolExit;
    try {
        setup();
        daemon.start(bulwarkd, config);
    } catch (const std::exception& e) {
        std::cerr << "suite setup failed: " << e.what() << "\n";
        return 3;
    }
    int rc = run_tests();
    if (daemon.running()) {
        if (int stop = daemon.stop(); stop != 0) {
            std::cerr << "bulwarkd did not stop cleanly: status " << stop << "\n";
            if (rc == 0) rc = 1;
        }
    }
    return rc;
}

}  // namespace testenv
