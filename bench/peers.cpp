#include "bench/peers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench/workload.h"
#include "test_env.h"

namespace bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A program in the background, its output in `log`.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork");
        if (pid_ == 0) {
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
    }
    ~Process() { stop(); }
    bool alive() {
        if (pid_ <= 0) return false;
        int st = 0;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (!alive()) return;
            std::this_thread::sleep_for(50ms);
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::string output() const { return testenv::read_file(log_); }

private:
    pid_t pid_ = -1;
    std::string log_;
};

void run_or_throw(const std::vector<std::string>& argv) {
    auto o = testenv::run_program(argv);
    if (!o.exited || o.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + o.output);
}

std::string find_program(const std::string& name) {
    for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        const std::string p = std::string(dir) + "/" + name;
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    throw std::runtime_error(name + " is not installed");
}

// Polls `ready` until it holds or the process dies or `timeout` passes.
void wait_until(Process& p, const std::string& what, const std::function<bool()>& ready,
                std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (ready()) return;
        if (!p.alive()) throw std::runtime_error(what + " exited before it enforced anything: " + p.output());
        std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error(what + " did not start enforcing within " + std::to_string(timeout.count()) +
                             " s: " + p.output());
}

// A configuration file, its directory created first.
void write_text(const std::string& path, const std::string& text, int mode = 0644) {
    fs::create_directories(fs::path(path).parent_path());
    testenv::write_file(path, text, mode);
}

// ---------------------------------------------------------------- bpftrace

class Bpftrace : public RunningPeer {
public:
    Bpftrace(Fixture& fx, const PolicySet& policy) {
        // bpftrace reads tracepoint formats from tracefs.
        if (!fs::exists("/sys/kernel/tracing/events")) {
            if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) < 0)
                throw std::runtime_error(std::string("mount tracefs: ") + std::strerror(errno));
            mounted_tracefs_ = true;
        }
        // One comparison per path in an if-chain does not load for 40 paths
        // (the verifier's complexity limit), so the paths are the keys of a
        // map: one string-keyed lookup per openat instead.
        std::string script = "// The classic kill-on-open: match the path string at sys_enter_openat.\nBEGIN\n{\n";
        for (const auto& p : policy.kill) script += "  @kill[\"" + p + "\"] = 1;\n";
        script +=
            "}\n\ntracepoint:syscalls:sys_enter_openat\n/@kill[str(args->filename)] == 1/\n{\n"
            "  signal(\"SIGKILL\");\n}\n\nEND\n{\n  clear(@kill);\n}\n";
        const std::string file = fx.path("peers/kill.bt");
        write_text(file, script);
        info_.rules = policy.kill.size();
        info_.description = "bpftrace: sys_enter_openat, str(filename) looked up among the " +
                            std::to_string(info_.rules) + " killOnOpen paths, signal(SIGKILL)";
        proc_ = std::make_unique<Process>(std::vector<std::string>{find_program("bpftrace"), "--unsafe", "-q", file},
                                          fx.path("peers/bpftrace.log"));
        wait_until(*proc_, "bpftrace", [&] { return open_outcome(policy.kill.front()) == "killed"; }, 600s);
    }
    ~Bpftrace() override {
        proc_.reset();
        if (mounted_tracefs_) umount2("/sys/kernel/tracing", MNT_DETACH);
    }
    const PeerInfo& info() const override { return info_; }

private:
    PeerInfo info_;
    std::unique_ptr<Process> proc_;
    bool mounted_tracefs_ = false;
};

// ------------------------------------------------------------------ auditd

class Auditd : public RunningPeer {
public:
    Auditd(Fixture& fx, const PolicySet& policy) {
        const std::string dir = fx.path("peers/audit");
        log_ = fx.path("peers/audit/audit.log");
        write_text(dir + "/auditd.conf",
                   "log_file = " + log_ +
                       "\nlog_format = ENRICHED\nflush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 4096\n"
                       "max_log_file_action = ROTATE\nnum_logs = 2\nspace_left = 16\nspace_left_action = IGNORE\n"
                       "admin_space_left = 8\nadmin_space_left_action = IGNORE\ndisk_full_action = IGNORE\n"
                       "disk_error_action = IGNORE\nlocal_events = yes\nwrite_logs = yes\n"
                       "log_group = root\npriority_boost = 4\ndispatcher = /bin/true\n",
                   0640);
        std::string rules = "-D\n-b 8192\n";
        auto watch = [&](const std::string& p) {
            rules += "-w " + p + " -p rwa -k bulwark-bench\n";
            ++info_.rules;
        };
        for (const auto& p : policy.deny_all) watch(p);
        for (const auto& p : policy.deny_write) watch(p);
        for (const auto& p : policy.deny_dirs) watch(p);
        for (const auto& p : policy.kill) watch(p);
        write_text(dir + "/bench.rules", rules);
        info_.description = "auditd: " + std::to_string(info_.rules) +
                            " watch rules (-w PATH -p rwa) on the policy's files and directories; it only "
                            "records, it cannot refuse or kill";
        auditctl_ = find_program("auditctl");
        proc_ = std::make_unique<Process>(std::vector<std::string>{find_program("auditd"), "-n", "-c", dir},
                                          fx.path("peers/auditd.out"));
        run_or_throw({auditctl_, "-R", dir + "/bench.rules"});
        run_or_throw({auditctl_, "-e", "1"});
        const std::string probe = policy.deny_all.front();
        wait_until(*proc_, "auditd", [&] {
            (void)open_outcome(probe);
            return testenv::read_file(log_).find("bulwark-bench") != std::string::npos;
        }, 300s);
    }
    ~Auditd() override {
        testenv::run_program({auditctl_, "-D"});
        proc_.reset();
        testenv::run_program({auditctl_, "-e", "0"});
    }
    const PeerInfo& info() const override { return info_; }

private:
    PeerInfo info_;
    std::string log_, auditctl_;
    std::unique_ptr<Process> proc_;
};

// --------------------------------------------------------------- fapolicyd

class Fapolicyd : public RunningPeer {
public:
    Fapolicyd(Fixture& fx, const PolicySet& policy) {
        // fapolicyd has no option for its configuration directory.
        write_text("/etc/fapolicyd/fapolicyd.conf",
                   "permissive = 0\nnice_val = 14\nq_size = 640\nuid = root\ngid = root\ndo_stat_report = 0\n"
                   "detailed_report = 0\ndb_max_size = 100\nsubj_cache_size = 1549\nobj_cache_size = 8191\n"
                   "watch_fs = ext2,ext3,ext4,tmpfs,xfs,vfat,iso9660,btrfs,rootfs,ramfs\ntrust = file\n"
                   "integrity = none\nsyslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust\n"
                   "rpm_sha256_only = 0\nallow_filesystem_mark = 0\n");
        write_text("/etc/fapolicyd/fapolicyd.trust", "");
        std::string rules = "# bulwark-bench: the realistic policy, as far as fapolicyd can say it\n";
        auto rule = [&](const std::string& r) {
            rules += r + "\n";
            ++info_.rules;
        };
        for (const auto& p : policy.deny_all) rule("deny perm=open all : path=" + p);
        for (const auto& p : policy.kill) rule("deny perm=open all : path=" + p);
        for (const auto& p : policy.deny_dirs) rule("deny perm=open all : dir=" + p + "/");
        for (const auto& p : policy.exec_allow) {
            if (p.back() == '/') rule("allow perm=execute all : dir=" + p);
            else rule("allow perm=execute all : path=" + p);
        }
        rule("deny perm=execute all : all");
        rule("allow perm=any all : all");
        write_text("/etc/fapolicyd/compiled.rules", rules);
        for (const char* d : {"/var/lib/fapolicyd", "/run/fapolicyd", "/var/log"}) fs::create_directories(d);
        info_.description = "fapolicyd (fanotify permission events): " + std::to_string(info_.rules) +
                            " rules: deny open of the deny-all and kill-on-open files and directories, the exec "
                            "allowlist (machine-wide: fapolicyd has no cgroup scopes); deny-write rules have no "
                            "fapolicyd equivalent";
        proc_ = std::make_unique<Process>(std::vector<std::string>{find_program("fapolicyd"), "--debug-deny"},
                                          fx.path("peers/fapolicyd.log"));
        const std::string probe = policy.deny_all.front();
        wait_until(*proc_, "fapolicyd", [&] { return open_outcome(probe) == "denied"; }, 300s);
    }
    const PeerInfo& info() const override { return info_; }

private:
    PeerInfo info_;
    std::unique_ptr<Process> proc_;
};

}  // namespace

std::unique_ptr<RunningPeer> start_peer(const std::string& name, Fixture& fx, const PolicySet& policy,
                                        bool machine_wide_ok) {
    fs::create_directories(fx.path("peers"));
    if (name == "bpftrace") return std::make_unique<Bpftrace>(fx, policy);
    if (name == "auditd" || name == "fapolicyd") {
        if (!machine_wide_ok)
            throw std::runtime_error(name + " changes machine-wide state (" +
                                     (name == "auditd" ? "the kernel's audit rules" : "/etc/fapolicyd") +
                                     "); it runs in the benchmark VM only");
        if (name == "auditd") return std::make_unique<Auditd>(fx, policy);
        return std::make_unique<Fapolicyd>(fx, policy);
    }
    throw std::runtime_error("unknown peer \"" + name + "\" (expected auditd, fapolicyd or bpftrace)");
}

}  // namespace bench
