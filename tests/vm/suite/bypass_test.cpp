// Bypasses an attacker tries in LSM mode (issue "close the bypasses"), each
// with the control that shows the same helper really reads, writes, maps or
// runs a file no rule covers:
//   - descriptors opened before the rule (at start-up and at a reload), and
//     descriptors passed on with pidfd_getfd and SCM_RIGHTS;
//   - code mapped executable without execve: ld.so run directly, LD_PRELOAD,
//     dlopen, mprotect;
//   - a deny-write file's times (utimensat, futimens);
//   - bulwark itself: bpf() on its maps, programs and links, its pins, the
//     bpf filesystem under them, signals and ptrace to bulwarkd (refused
//     with selfProtection on), and changes to its maps found and restored
//     (with selfProtection off, so that they get through).
// Runs as root inside the test VM (tests/vm), started by its /init.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <iostream>
#include <sched.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "bulwark_abi.h"
#include "test_env.h"

namespace fs = std::filesystem;
using testenv::Outcome;
using testenv::kToolExit;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/bwb";
const std::string kCgroup = "/sys/fs/cgroup/bwb";
const std::string kAudit = kDir + "/audit.jsonl";
const std::string kSocket = kDir + "/control.sock";
const std::string kPreloadLib = "/opt/bulwark-test/preload.so";  // tests/vm/suite/preload_lib.c
const std::string kLoader = "/lib64/ld-linux-x86-64.so.2";
const std::string kSecretBytes = "top secret: opened before the rule\n";
const std::string kReadonlyBytes = "deny write: opened for writing before the rule\n";
const std::string kInnerBytes = "below a protected directory\n";
const std::string kPlainBytes = "no rule covers this file\n";
const std::string kLaterBytes = "protected only from the reload on\n";
const std::string kGuardedBytes = "three levels below the directory a mount would cover\n";

std::string g_bulwarkd = "/usr/sbin/bulwarkd";
testenv::Daemon g_daemon;

// Descriptors this process opened before bulwarkd started (setup()).
int g_secret_fd = -1;    // deny all, read-only descriptor
int g_readonly_fd = -1;  // deny write, read-write descriptor
int g_canary_fd = -1;    // kill on open
int g_inner_fd = -1;     // deny all through a directory rule
int g_plain_fd = -1;     // no rule: the control

std::string p(const std::string& name) { return kDir + "/" + name; }

const char* kFilesPolicy = R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: bypass-files
spec:
  protectedFiles:
    - path: /tmp/bwb/secret.txt
      deny: all
    - path: /tmp/bwb/readonly.txt
      deny: write
    - path: /tmp/bwb/secrets
      recursive: true
      deny: all
    - path: /tmp/bwb/deep/sub/guarded.txt
      deny: write
  killOnOpen:
    - path: /tmp/bwb/canary.txt
)";

// The loader and libraries of every program here (the VM's /usr/lib and
// /usr/lib64), allowed.so but not evil.so (the same bytes, another file).
const char* kExecPolicy = R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: bypass-exec
spec:
  scope:
    cgroups: [/sys/fs/cgroup/bwb]
  execAllowlist:
    - /tmp/bwb/allowed-tool
    - /tmp/bwb/allowed.so
    - /usr/lib/x86_64-linux-gnu/
    - /usr/lib64/
)";

const char* kLaterPolicy = R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: bypass-later
spec:
  protectedFiles:
    - path: /tmp/bwb/later.txt
      deny: all
)";

int open_or_throw(const std::string& path, int flags) {
    const int fd = open(path.c_str(), flags);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + strerror(errno));
    return fd;
}

void setup_files(const std::string& self) {
    fs::create_directories(p("policies"));
    fs::create_directories(p("secrets"));
    testenv::write_file(p("secret.txt"), kSecretBytes);
    testenv::write_file(p("readonly.txt"), kReadonlyBytes);
    testenv::write_file(p("canary.txt"), "tripwire\n");
    testenv::write_file(p("secrets/inner.txt"), kInnerBytes);
    testenv::write_file(p("plain.txt"), kPlainBytes);
    testenv::write_file(p("later.txt"), kLaterBytes);
    fs::create_directories(p("deep/sub"));
    fs::create_directories(p("other"));
    testenv::write_file(p("deep/sub/guarded.txt"), kGuardedBytes);
    testenv::write_file(p("free.txt"), "free\n");
    testenv::write_file(p("forged.txt"), "forged\n");
    for (const char* tool : {"allowed-tool", "blocked-tool"}) {
        fs::copy_file(self, p(tool), fs::copy_options::overwrite_existing);
        chmod(p(tool).c_str(), 0755);
    }
    fs::copy_file(kPreloadLib, p("allowed.so"), fs::copy_options::overwrite_existing);
    fs::copy_file(kPreloadLib, p("evil.so"), fs::copy_options::overwrite_existing);
    mkdir(kCgroup.c_str(), 0755);
    testenv::write_file(p("policies/files.yaml"), kFilesPolicy);
    testenv::write_file(p("policies/exec.yaml"), kExecPolicy);
    testenv::write_file(p("bulwark.yaml"), "policyDir: " + p("policies") + "\nauditLog: " + kAudit +
                                               "\ncontrolSocket: " + kSocket + "\nmode: lsm\n");
    // Opened before any rule is in force.
    g_secret_fd = open_or_throw(p("secret.txt"), O_RDONLY);
    g_readonly_fd = open_or_throw(p("readonly.txt"), O_RDWR);
    g_canary_fd = open_or_throw(p("canary.txt"), O_RDONLY);
    g_inner_fd = open_or_throw(p("secrets/inner.txt"), O_RDONLY);
    g_plain_fd = open_or_throw(p("plain.txt"), O_RDWR);
}

// A child reads `fd` from offset 0 and writes what it read to the pipe;
// returns the child's outcome (exit code 0: read, else the errno).
Outcome read_in_child(int fd) {
    return testenv::run_child([fd](int out) {
        char buf[256];
        const ssize_t n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0) return errno;
        return write(out, buf, size_t(n)) == n ? 0 : 99;
    });
}

// The errno a child gets from `fn` (which returns -1 with errno set on
// failure), 0 on success.
int errno_in_child(const std::function<long()>& fn) {
    Outcome o = testenv::run_child([&](int) { return fn() < 0 ? errno : 0; });
    return o.exited ? o.exit_code : 128 + o.signal;
}

std::vector<json> records(const std::function<bool(const json&)>& pred) {
    return testenv::wait_for_audit(kAudit, pred);
}

struct Times {
    struct timespec atime, mtime;
    off_t size;
};
Times times_of(const std::string& path) {
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    return Times{st.st_atim, st.st_mtim, st.st_size};
}
bool same(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Runs argv with env in a grandchild that first joins the allowlist's
// scope; its exit status, 128 + signal if killed, 200 + errno if execve
// failed.  Its stdout and stderr go to `output`.
int run_in_scope(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::string* output = nullptr) {
    Outcome o = testenv::run_child([&](int out) {
        testenv::join_cgroup(kCgroup);
        Outcome t = testenv::run_child([&](int) {
            dup2(out, 1);
            dup2(out, 2);
            std::vector<char*> a, e;
            for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
            for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
            a.push_back(nullptr);
            e.push_back(nullptr);
            execve(a[0], a.data(), e.data());
            return 200 + errno;
        });
        return t.signaled ? 128 + t.signal : t.exit_code;
    });
    if (output) *output = o.output;
    return o.exited ? o.exit_code : -1;
}

}  // namespace

// --- descriptors opened before the rule -----------------------------------

TEST_CASE("each descriptor open at start-up is reported as preexisting, with pid, comm and fd", "[preexisting]") {
    for (const auto& [fd, path, write] : std::vector<std::tuple<int, std::string, bool>>{
             {g_secret_fd, p("secret.txt"), false},
             {g_readonly_fd, p("readonly.txt"), true},
             {g_canary_fd, p("canary.txt"), false},
             {g_inner_fd, p("secrets/inner.txt"), false}}) {
        INFO(path);
        const int want_fd = fd;
        auto recs = records([&](const json& r) {
            return r["kind"] == "preexisting" && r["pid"] == getpid() && r["fd"] == want_fd;
        });
        REQUIRE(recs.size() == 1);
        CHECK(recs[0]["path"] == path);
        CHECK(recs[0]["action"] == "denied");
        CHECK(recs[0]["write"] == write);
        CHECK(recs[0]["generation"] == 1);
        CHECK(recs[0]["comm"] == "vm_bypass_suite");
    }
    // Not the control, and not a read-only descriptor of a deny-write file.
    CHECK(records([](const json& r) { return r["kind"] == "preexisting" && r["path"] == p("plain.txt"); }).empty());
}

TEST_CASE("reads through a descriptor opened before a deny-all rule fail with EPERM", "[preexisting]") {
    Outcome control = read_in_child(g_plain_fd);
    CHECK(control.exit_code == 0);
    CHECK(control.output == kPlainBytes);

    for (int fd : {g_secret_fd, g_inner_fd}) {
        Outcome o = read_in_child(fd);
        CHECK(o.exit_code == EPERM);
        CHECK(o.output.empty());
    }
    auto recs = records([](const json& r) { return r["kind"] == "file_access" && r["path"] == p("secret.txt"); });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["rule"] == "protectedFiles(all)");
    CHECK(recs[0]["write"] == false);
}

TEST_CASE("mmap, sendfile, splice and copy_file_range of such a descriptor fail with EPERM", "[preexisting]") {
    const std::string out_path = p("copy-out");
    testenv::write_file(out_path, "");
    auto mmap_read = [](int fd) {
        return [fd]() -> long {
            void* m = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
            return m == MAP_FAILED ? -1 : 0;
        };
    };
    auto send = [&](int fd) {
        return [fd, &out_path]() -> long {
            int out = open(out_path.c_str(), O_WRONLY);
            off_t off = 0;
            return sendfile(out, fd, &off, 64);
        };
    };
    auto splice_out = [](int fd) {
        return [fd]() -> long {
            int pipefd[2];
            if (pipe(pipefd) != 0) return -1;
            loff_t off = 0;
            return splice(fd, &off, pipefd[1], nullptr, 64, 0);
        };
    };
    auto copy_range = [&](int fd) {
        return [fd, &out_path]() -> long {
            int out = open(out_path.c_str(), O_WRONLY);
            loff_t off = 0;
            return copy_file_range(fd, &off, out, nullptr, 64, 0);
        };
    };
    for (const auto& [name, make] : std::vector<std::pair<std::string, std::function<std::function<long()>(int)>>>{
             {"mmap", mmap_read}, {"sendfile", send}, {"splice", splice_out}, {"copy_file_range", copy_range}}) {
        INFO(name);
        testenv::write_file(out_path, "");
        CHECK(errno_in_child(make(g_plain_fd)) == 0);  // control
        const std::string control = testenv::read_file(out_path);
        CHECK(errno_in_child(make(g_secret_fd)) == EPERM);
        CHECK(errno_in_child(make(g_inner_fd)) == EPERM);
        // What the control copied (sendfile, copy_file_range) is all the
        // output file holds: no protected byte landed over it.
        CHECK(testenv::read_file(out_path) == control);
        if (name == "sendfile" || name == "copy_file_range") CHECK(control == kPlainBytes);
    }
}

TEST_CASE("writes through a writable descriptor opened before a deny-write rule fail with EPERM", "[preexisting]") {
    const Times before = times_of(p("readonly.txt"));
    auto attempts = std::vector<std::pair<std::string, std::function<long(int)>>>{
        {"pwrite", [](int fd) -> long { return pwrite(fd, "forged", 6, 0); }},
        {"fallocate", [](int fd) -> long { return fallocate(fd, 0, 0, 1 << 20); }},
        {"shared writable mmap", [](int fd) -> long {
             void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
             if (m == MAP_FAILED) return -1;
             memcpy(m, "forged", 6);
             return msync(m, 4096, MS_SYNC);
         }},
    };
    const std::string plain_before = testenv::read_file(p("plain.txt"));
    for (const auto& [name, fn] : attempts) {
        INFO(name);
        CHECK(errno_in_child([&] { return fn(g_readonly_fd); }) == EPERM);
    }
    // Reading it stays allowed: it is deny write.
    Outcome reading = read_in_child(g_readonly_fd);
    CHECK(reading.exit_code == 0);
    CHECK(reading.output == kReadonlyBytes);
    CHECK(errno_in_child([] {
              void* m = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, g_readonly_fd, 0);
              return m == MAP_FAILED ? -1L : 0L;
          }) == 0);
    const Times after = times_of(p("readonly.txt"));
    CHECK(testenv::read_file(p("readonly.txt")) == kReadonlyBytes);
    CHECK(after.size == before.size);
    CHECK(same(after.mtime, before.mtime));
    // Control: the same writes to the unprotected file land.
    CHECK(errno_in_child([] { return pwrite(g_plain_fd, "NO", 2, 0); }) == 0);
    CHECK(testenv::read_file(p("plain.txt")) == "NO" + plain_before.substr(2));
    CHECK(errno_in_child([] { return pwrite(g_plain_fd, "no", 2, 0); }) == 0);
    auto recs = records([](const json& r) {
        return r["kind"] == "file_access" && r["path"] == p("readonly.txt") && r["write"] == true;
    });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["rule"] == "protectedFiles(write)");
}

TEST_CASE("whoever reads a kill-on-open file through an earlier descriptor is killed and reads nothing",
          "[preexisting]") {
    Outcome o = read_in_child(g_canary_fd);
    CHECK(o.signaled);
    CHECK(o.signal == SIGKILL);
    CHECK(o.output.empty());
    auto recs = records([&](const json& r) { return r["kind"] == "file_access" && r["pid"] == o.pid; });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "killed");
    CHECK(recs[0]["path"] == p("canary.txt"));
}

TEST_CASE("a descriptor taken with pidfd_getfd is checked like an open", "[received]") {
    const pid_t holder = getpid();
    auto take_and_read = [holder](int fd) {
        return testenv::run_child([holder, fd](int out) {
            const int pidfd = int(syscall(SYS_pidfd_open, holder, 0));
            if (pidfd < 0) return 100;
            const int copy = int(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
            if (copy < 0) return errno;
            char buf[256];
            const ssize_t n = pread(copy, buf, sizeof(buf), 0);
            if (n < 0) return 101;
            return write(out, buf, size_t(n)) == n ? 0 : 99;
        });
    };
    Outcome control = take_and_read(g_plain_fd);
    CHECK(control.exit_code == 0);
    CHECK(control.output.size() == kPlainBytes.size());
    Outcome o = take_and_read(g_secret_fd);
    CHECK(o.exit_code == EPERM);
    CHECK(o.output.empty());
    auto recs = records([&](const json& r) { return r["kind"] == "file_open" && r["pid"] == o.pid; });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["received"] == true);
    CHECK(recs[0]["action"] == "denied");
}

TEST_CASE("a descriptor sent with SCM_RIGHTS never arrives", "[received]") {
    // The sender is this process; the child receives.
    for (int fd : {g_plain_fd, g_secret_fd}) {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            close(sv[0]);
            char byte;
            struct iovec iov = {&byte, 1};
            alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
            struct msghdr msg {};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = ctl;
            msg.msg_controllen = sizeof(ctl);
            if (recvmsg(sv[1], &msg, 0) != 1) _exit(100);
            struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
            if (!c || c->cmsg_type != SCM_RIGHTS) _exit((msg.msg_flags & MSG_CTRUNC) ? 1 : 102);
            int got;
            std::memcpy(&got, CMSG_DATA(c), sizeof(got));
            char buf[256];
            const ssize_t n = pread(got, buf, sizeof(buf), 0);
            _exit(n == ssize_t(kPlainBytes.size()) ? 0 : 103);
        }
        close(sv[1]);
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
        struct msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof(ctl);
        struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(fd));
        REQUIRE(sendmsg(sv[0], &msg, 0) == 1);
        close(sv[0]);
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        REQUIRE(WIFEXITED(status));
        // 0: received and read the control; 1: the kernel dropped the
        // descriptor (MSG_CTRUNC) because the receive was refused.
        CHECK(WEXITSTATUS(status) == (fd == g_plain_fd ? 0 : 1));
        if (fd == g_secret_fd) {
            auto recs = records([&](const json& r) { return r["kind"] == "file_open" && r["pid"] == child; });
            REQUIRE(recs.size() == 1);
            CHECK(recs[0]["received"] == true);
        }
    }
}

TEST_CASE("a descriptor opened before a reload obeys the rule the reload brings", "[preexisting][reload]") {
    const int fd = open_or_throw(p("later.txt"), O_RDONLY);
    Outcome before = read_in_child(fd);
    CHECK(before.exit_code == 0);
    CHECK(before.output == kLaterBytes);

    testenv::write_file(p("policies/later.yaml"), kLaterPolicy);
    Outcome r = testenv::run_program({"/usr/bin/bulwarkctl", "reload", "--json", "--socket", kSocket});
    REQUIRE(r.exit_code == 0);
    const uint64_t gen = json::parse(r.output)["generation"].get<uint64_t>();
    CHECK(gen == 2);

    auto recs = records([&](const json& rec) {
        return rec["kind"] == "preexisting" && rec["pid"] == getpid() && rec["fd"] == fd;
    });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["generation"] == gen);
    CHECK(recs[0]["path"] == p("later.txt"));
    CHECK(recs[0]["policy"] == "bypass-later");

    Outcome after = read_in_child(fd);
    CHECK(after.exit_code == EPERM);
    CHECK(after.output.empty());

    // The rule goes with the next reload: the same descriptor reads again.
    fs::remove(p("policies/later.yaml"));
    r = testenv::run_program({"/usr/bin/bulwarkctl", "reload", "--json", "--socket", kSocket});
    REQUIRE(r.exit_code == 0);
    Outcome again = read_in_child(fd);
    CHECK(again.exit_code == 0);
    CHECK(again.output == kLaterBytes);
    close(fd);
}

// --- code mapped executable -----------------------------------------------

TEST_CASE("the dynamic loader run directly cannot map a program outside the allowlist", "[mmap-exec]") {
    CHECK(run_in_scope({kLoader, p("allowed-tool"), testenv::kToolArg}, {}) == kToolExit);  // control
    std::string out;
    const int status = run_in_scope({kLoader, p("blocked-tool"), testenv::kToolArg}, {}, &out);
    INFO(out);
    CHECK(status == 127);  // ld.so: "failed to map segment from shared object"
    auto recs = records([](const json& r) { return r["kind"] == "exec" && r["path"] == p("blocked-tool"); });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["mmap"] == true);
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["policy"] == "bypass-exec");
}

TEST_CASE("LD_PRELOAD of a library outside the allowlist does not run its code", "[mmap-exec]") {
    const std::string marker = p("preload-marker");
    fs::remove(marker);
    // Control: the allowed copy's constructor runs and leaves the marker.
    CHECK(run_in_scope({p("allowed-tool"), testenv::kToolArg}, {"LD_PRELOAD=" + p("allowed.so"), "BW_MARKER=" + marker}) ==
          kToolExit);
    CHECK(testenv::read_file(marker) == "loaded\n");
    fs::remove(marker);
    std::string out;
    CHECK(run_in_scope({p("allowed-tool"), testenv::kToolArg}, {"LD_PRELOAD=" + p("evil.so"), "BW_MARKER=" + marker},
                       &out) == kToolExit);  // ld.so ignores the preload it cannot map
    INFO(out);
    CHECK_FALSE(fs::exists(marker));
    CHECK(out.find("evil.so") != std::string::npos);
    auto recs = records([](const json& r) { return r["kind"] == "exec" && r["path"] == p("evil.so"); });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["mmap"] == true);
}

TEST_CASE("dlopen and mprotect(PROT_EXEC) of a file outside the allowlist fail", "[mmap-exec]") {
    auto in_scope = [](const std::function<int()>& fn) {
        Outcome o = testenv::run_child([&](int) {
            testenv::join_cgroup(kCgroup);
            return fn();
        });
        return o.exited ? o.exit_code : 128 + o.signal;
    };
    auto dl = [](const std::string& path) {
        return [path] {
            void* h = dlopen(path.c_str(), RTLD_NOW);
            if (!h) return 1;
            auto answer = reinterpret_cast<int (*)()>(dlsym(h, "bw_lib_answer"));
            return answer ? answer() : 2;
        };
    };
    CHECK(in_scope(dl(p("allowed.so"))) == 42);  // control
    CHECK(in_scope(dl(p("evil.so"))) == 1);
    auto protect = [](const std::string& path) {
        return [path] {
            const int fd = open(path.c_str(), O_RDONLY);
            void* m = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) return 100;
            return mprotect(m, 4096, PROT_READ | PROT_EXEC) == 0 ? 0 : errno;
        };
    };
    CHECK(in_scope(protect(p("allowed.so"))) == 0);  // control
    CHECK(in_scope(protect(p("evil.so"))) == EPERM);
    // Anonymous executable memory (what a JIT uses) is not a file's code.
    CHECK(in_scope([] {
              void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
              return m == MAP_FAILED ? errno : 0;
          }) == 0);
    // Outside the scope the same dlopen works.
    Outcome outside = testenv::run_child([&](int) { return dl(p("evil.so"))(); });
    CHECK(outside.exit_code == 42);
}

// --- times ----------------------------------------------------------------

TEST_CASE("utimensat and futimens on a deny-write file fail with EPERM and the times stay", "[utimes]") {
    const struct timespec forged[2] = {{1000000000, 0}, {1000000000, 0}};
    for (const std::string& path : {p("readonly.txt"), p("secret.txt")}) {
        INFO(path);
        const Times before = times_of(path);
        CHECK(errno_in_child([&] { return long(utimensat(AT_FDCWD, path.c_str(), forged, 0)); }) == EPERM);
        CHECK(errno_in_child([&] { return long(utimensat(AT_FDCWD, path.c_str(), nullptr, 0)); }) == EPERM);
        const Times after = times_of(path);
        CHECK(same(after.mtime, before.mtime));
        CHECK(same(after.atime, before.atime));
    }
    CHECK(errno_in_child([&] { return long(futimens(g_readonly_fd, forged)); }) == EPERM);
    CHECK(times_of(p("readonly.txt")).mtime.tv_sec != forged[1].tv_sec);
    // Control: the unprotected file takes the forged times.
    CHECK(errno_in_child([&] { return long(utimensat(AT_FDCWD, p("plain.txt").c_str(), forged, 0)); }) == 0);
    CHECK(times_of(p("plain.txt")).mtime.tv_sec == forged[1].tv_sec);
    auto recs = records([](const json& r) { return r["kind"] == "file_change" && r["op"] == "utimes"; });
    REQUIRE(!recs.empty());
    CHECK(recs[0]["action"] == "denied");
}

// --- mounts ---------------------------------------------------------------

namespace {

long bind_mount(const std::string& from, const std::string& to) {
    return mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr);
}
long tmpfs(const std::string& to) { return mount("tmpfs", to.c_str(), "tmpfs", 0, nullptr); }
// The new mount API: a detached tmpfs moved onto `to`.
long new_api_mount(const std::string& to) {
    const int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs_fd < 0) return -1;
    if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return -1;
    const int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0) return -1;
    return move_mount(mnt, "", AT_FDCWD, to.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
}

}  // namespace

TEST_CASE("nothing is mounted over a guarded file, a guarded directory or a directory above one", "[mount]") {
    // Controls: each way of mounting works where no rule is concerned.
    for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<long()>>>{
             {"bind over a file", [] { return bind_mount(p("forged.txt"), p("free.txt")); }},
             {"tmpfs", [] { return tmpfs(p("other")); }},
             {"move_mount", [] { return new_api_mount(p("other")); }}}) {
        INFO(name);
        CHECK(errno_in_child(fn) == 0);
        CHECK(umount2((name == "bind over a file" ? p("free.txt") : p("other")).c_str(), 0) == 0);
    }
    for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<long()>>>{
             {"bind over a deny-write file", [] { return bind_mount(p("forged.txt"), p("readonly.txt")); }},
             {"tmpfs over a protected directory", [] { return tmpfs(p("secrets")); }},
             {"tmpfs over a directory above a guarded file", [] { return tmpfs(p("deep")); }},
             {"bind over the directory holding it", [] { return bind_mount(p("other"), p("deep/sub")); }},
             {"move_mount over a directory above it", [] { return new_api_mount(p("deep")); }},
             {"bind over /tmp", [] { return bind_mount(p("other"), "/tmp"); }}}) {
        INFO(name);
        CHECK(errno_in_child(fn) == EPERM);
    }
    // The paths still serve the files the rules name.
    Outcome r = read_in_child(g_readonly_fd);
    CHECK(r.output == kReadonlyBytes);
    CHECK(testenv::read_file(p("readonly.txt")) == kReadonlyBytes);
    CHECK(testenv::read_file(p("deep/sub/guarded.txt")) == kGuardedBytes);
    auto recs = records([](const json& rec) { return rec["kind"] == "file_change" && rec["op"] == "mount"; });
    REQUIRE(recs.size() >= 6);
    for (const auto& rec : recs) CHECK(rec["action"] == "denied");
}

TEST_CASE("a mount in a private mount namespace changes only that namespace's view", "[mount]") {
    Outcome o = testenv::run_child([](int out) {
        if (unshare(CLONE_NEWNS) != 0) return 100;
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 101;
        if (bind_mount(p("forged.txt"), p("readonly.txt")) != 0) return errno;
        const std::string seen = testenv::read_file(p("readonly.txt"));
        return write(out, seen.data(), seen.size()) == ssize_t(seen.size()) ? 0 : 99;
    });
    CHECK(o.exit_code == 0);
    CHECK(o.output == "forged\n");  // its own view (docs/policy.md)
    CHECK(testenv::read_file(p("readonly.txt")) == kReadonlyBytes);  // everyone else's
}

// --- bulwark itself: what only bulwarkd may do ---------------------------

namespace {

const std::string kPins = "/sys/fs/bpf/bulwark";  // pinDir's default

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

// A map of the test's own, named `name`.
int own_map(const char* name) {
    return bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, 4, 1, nullptr);
}

// The `tamper` records of `op`, once there are at least `n` (or after 30 s).
std::vector<json> tamper_records(const std::string& op, size_t n) {
    std::vector<json> out;
    for (int i = 0; i < 300; ++i) {
        out.clear();
        for (const auto& r : testenv::audit_records(kAudit))
            if (r["kind"] == "tamper" && r["op"] == op) out.push_back(r);
        if (out.size() >= n) break;
        usleep(100 * 1000);  // polling a condition, bounded (30 s)
    }
    return out;
}

json status_json(int* exit_code) {
    Outcome st = testenv::run_program({"/usr/bin/bulwarkctl", "status", "--json", "--socket", kSocket});
    *exit_code = st.exit_code;
    return json::parse(st.output.substr(0, st.output.rfind('}') + 1));
}

// A process that only sleeps (the control target for signals and ptrace).
pid_t sleeper() {
    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);  // not the test framework's handler
        for (;;) pause();
    }
    return pid;
}

// The control program: an XDP program of this process that passes every
// packet; its descriptor, or -1 with errno.
int load_xdp_pass() {
    const bpf_insn pass[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2 /* XDP_PASS */},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    return bpf_prog_load(BPF_PROG_TYPE_XDP, "bwb_control", "GPL", pass, 2, nullptr);
}

// A program that returns 0, loaded as `type` attached (at load) to the
// kernel function `target`: the descriptor, or -1 with errno.
int load_returning_zero(bpf_prog_type type, bpf_attach_type attach, const char* target) {
    btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return -1;
    const int id = btf__find_by_name_kind(vmlinux, target, BTF_KIND_FUNC);
    btf__free(vmlinux);
    if (id <= 0) {
        errno = ENOENT;
        return -1;
    }
    const bpf_insn ret0[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .attach_btf_id = __u32(id));
    return bpf_prog_load(type, "bwb_probe", "GPL", ret0, 2, &opts);
}

}  // namespace

TEST_CASE("no fmod_ret or BPF LSM program of another process is loaded; another program type is (control)",
          "[self]") {
    const int xdp = load_xdp_pass();
    CHECK(xdp >= 0);  // control: this process loads programs
    close(xdp);
    errno = 0;
    CHECK(load_returning_zero(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_file_open") == -1);
    CHECK(errno == EPERM);
    // fmod_ret on a security_* function skips the LSM hooks in it.
    errno = 0;
    CHECK(load_returning_zero(BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, "security_bpf_map") == -1);
    CHECK(errno == EPERM);
    auto recs = tamper_records("bpf-load", 2);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0]["prog_type"] == BPF_PROG_TYPE_LSM);
    CHECK(recs[1]["prog_type"] == BPF_PROG_TYPE_TRACING);
}


TEST_CASE("root gets no descriptor of bulwark's maps or programs; of its own map it does (control)", "[self]") {
    // Control: the same calls on a map of this process's own.
    const int mine = own_map("bwb_control");
    REQUIRE(mine >= 0);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    REQUIRE(bpf_obj_get_info_by_fd(mine, &info, &len) == 0);
    const int again = bpf_map_get_fd_by_id(info.id);
    CHECK(again >= 0);
    close(again);
    fs::create_directories("/sys/fs/bpf/bwb-control");
    REQUIRE(bpf_obj_pin(mine, "/sys/fs/bpf/bwb-control/map") == 0);
    const int from_pin = bpf_obj_get("/sys/fs/bpf/bwb-control/map");
    CHECK(from_pin >= 0);
    close(from_pin);
    close(mine);

    // bulwark's pinned maps, by path ...
    const auto pinned = names_in(kPins + "/maps");
    REQUIRE(pinned.size() >= 8);
    for (const auto& n : pinned) {
        INFO("pin " << n);
        errno = 0;
        CHECK(bpf_obj_get((kPins + "/maps/" + n).c_str()) == -1);
        CHECK(errno == EPERM);
    }
    // ... and by id: every map and program of the kernel is tried.
    size_t maps_refused = 0, maps_opened = 0, progs_refused = 0;
    uint32_t id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        const int fd = bpf_map_get_fd_by_id(id);
        if (fd >= 0) {
            ++maps_opened;
            close(fd);
        } else if (errno == EPERM) {
            ++maps_refused;
        }
    }
    id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        const int fd = bpf_prog_get_fd_by_id(id);
        if (fd >= 0)
            close(fd);
        else if (errno == EPERM)
            ++progs_refused;
    }
    CHECK(maps_refused >= pinned.size());
    CHECK(progs_refused >= names_in(kPins + "/links").size());
    // Enforcement is untouched (control: the plain file opens).
    CHECK(errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == EPERM);
    CHECK(testenv::open_errno(p("free.txt"), O_RDONLY) == 0);
    auto recs = tamper_records("bpf-map", pinned.size());
    REQUIRE(recs.size() >= pinned.size());
    bool state_named = false;
    for (const auto& r : recs) {
        CHECK(r["action"] == "denied");
        CHECK(r["pid"] == getpid());
        if (r["name"] == "bw_state") state_named = true;
    }
    CHECK(state_named);
    CHECK_FALSE(tamper_records("bpf-prog", 1).empty());
    unlink("/sys/fs/bpf/bwb-control/map");
    rmdir("/sys/fs/bpf/bwb-control");
}

TEST_CASE("bulwark's links cannot be detached or replaced; a link of another program can (control)", "[self]") {
    // Control: an XDP program of this process on lo, detached the same way.
    const int prog = load_xdp_pass();
    REQUIRE(prog >= 0);
    const int own_link = bpf_link_create(prog, int(if_nametoindex("lo")), BPF_XDP, nullptr);
    REQUIRE(own_link >= 0);
    CHECK(bpf_link_detach(own_link) == 0);
    close(own_link);
    close(prog);

    const auto links = names_in(kPins + "/links");
    REQUIRE(links.size() >= 10);
    for (const auto& n : links) {
        INFO("link " << n);
        const int fd = bpf_obj_get((kPins + "/links/" + n).c_str());
        REQUIRE(fd >= 0);  // a descriptor of a link is anyone's; what it can do is not
        errno = 0;
        CHECK(bpf_link_detach(fd) == -1);
        CHECK(errno == EPERM);
        errno = 0;
        CHECK(bpf_link_update(fd, 0, nullptr) == -1);
        CHECK(errno == EPERM);
        close(fd);
    }
    CHECK(errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == EPERM);
    CHECK(testenv::open_errno(p("free.txt"), O_RDONLY) == 0);
    auto recs = tamper_records("bpf-link", 2 * links.size());
    REQUIRE(recs.size() >= 2 * links.size());
    bool detach = false, update = false;
    for (const auto& r : recs) {
        detach = detach || r["bpf_cmd"] == BPF_LINK_DETACH;
        update = update || r["bpf_cmd"] == BPF_LINK_UPDATE;
        CHECK(r["name"].get<std::string>().rfind("bw_", 0) == 0);
    }
    CHECK(detach);
    CHECK(update);
}

TEST_CASE("bulwark's pins cannot be removed, renamed or unmounted; a pin of another can (control)", "[self]") {
    // Control: the same calls on a map pinned in a directory of this test,
    // and on a bpf filesystem of its own.
    fs::create_directories("/sys/fs/bpf/bwb-control");
    const int mine = own_map("bwb_control");
    REQUIRE(mine >= 0);
    REQUIRE(bpf_obj_pin(mine, "/sys/fs/bpf/bwb-control/map") == 0);
    CHECK(rename("/sys/fs/bpf/bwb-control/map", "/sys/fs/bpf/bwb-control/moved") == 0);
    CHECK(unlink("/sys/fs/bpf/bwb-control/moved") == 0);
    CHECK(rmdir("/sys/fs/bpf/bwb-control") == 0);
    close(mine);
    fs::create_directories(p("ownbpf"));
    REQUIRE(mount("bpf", p("ownbpf").c_str(), "bpf", 0, nullptr) == 0);
    CHECK(umount2(p("ownbpf").c_str(), MNT_DETACH) == 0);

    auto refused = [](int rc) { return rc == -1 && errno == EPERM; };
    CHECK(refused(unlink((kPins + "/links/bw_lsm_file_open").c_str())));
    CHECK(refused(unlink((kPins + "/maps/bw_state").c_str())));
    CHECK(refused(rename((kPins + "/maps/bw_state").c_str(), (kPins + "/maps/elsewhere").c_str())));
    CHECK(refused(rename((kPins + "/links/bw_lsm_file_open").c_str(), "/sys/fs/bpf/bw_lsm_file_open")));
    CHECK(refused(rename(kPins.c_str(), "/sys/fs/bpf/moved")));
    CHECK(refused(rmdir((kPins + "/links").c_str())));
    CHECK(refused(umount2("/sys/fs/bpf", MNT_DETACH)));
    CHECK(fs::exists(kPins + "/links/bw_lsm_file_open"));
    CHECK(fs::exists(kPins + "/maps/bw_state"));
    CHECK(errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == EPERM);
    CHECK(testenv::open_errno(p("free.txt"), O_RDONLY) == 0);
    CHECK(tamper_records("unpin", 6).size() >= 6);
    auto um = tamper_records("umount", 1);
    REQUIRE(um.size() == 1);
    CHECK(um[0]["action"] == "denied");
}

TEST_CASE("signals to bulwarkd from anyone but PID 1 and its parent are refused; to another process not (control)",
          "[self]") {
    const pid_t daemon = g_daemon.pid();
    REQUIRE(daemon > 0);
    const pid_t target = sleeper();
    REQUIRE(target > 0);
    // A sibling of bulwarkd, not its parent: what any root shell is.
    Outcome o = testenv::run_child([&](int out) {
        std::string r;
        for (int sig : {SIGTERM, SIGKILL, SIGSTOP, SIGHUP, SIGUSR1})
            r += std::to_string(kill(daemon, sig) == 0 ? 0 : errno) + " ";
        const int pidfd = int(syscall(SYS_pidfd_open, daemon, 0));
        r += std::to_string(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0 ? 0 : errno) + " ";
        r += std::to_string(kill(daemon, 0) == 0 ? 0 : errno) + " ";   // a probe, no signal
        r += std::to_string(kill(target, SIGTERM) == 0 ? 0 : errno);  // control
        return write(out, r.data(), r.size()) == ssize_t(r.size()) ? 0 : 99;
    });
    CHECK(o.exit_code == 0);
    CHECK(o.output == "1 1 1 1 1 1 0 0");
    int status = 0;
    REQUIRE(waitpid(target, &status, 0) == target);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    // bulwarkd runs on and answers.
    CHECK(kill(daemon, 0) == 0);
    int rc = -1;
    json st = status_json(&rc);
    CHECK(rc == 0);
    CHECK(st["integrity"]["state"] == "intact");
    auto recs = tamper_records("signal", 6);
    REQUIRE(recs.size() >= 6);
    std::set<int> sigs;
    for (const auto& r : recs) {
        sigs.insert(r["signal"].get<int>());
        CHECK(r["pid"] == o.pid);
    }
    CHECK(sigs == std::set<int>{SIGTERM, SIGKILL, SIGSTOP, SIGHUP, SIGUSR1});
}

TEST_CASE("ptrace, /proc/PID/mem, process_vm_readv and pidfd_getfd on bulwarkd are refused; on another process not "
          "(control)",
          "[self]") {
    const pid_t daemon = g_daemon.pid();
    const pid_t target = sleeper();
    REQUIRE(target > 0);
    Outcome o = testenv::run_child([&](int out) {
        auto err = [](long rc) { return std::to_string(rc < 0 ? errno : 0) + " "; };
        std::string r;
        for (pid_t pid : {daemon, target}) {
            r += err(ptrace(PTRACE_ATTACH, pid, nullptr, nullptr));
            if (pid == target) {
                waitpid(target, nullptr, __WALL);
                ptrace(PTRACE_DETACH, target, nullptr, nullptr);
            }
            const std::string mem = "/proc/" + std::to_string(pid) + "/mem";
            const int fd = open(mem.c_str(), O_RDWR);
            r += err(fd);
            if (fd >= 0) close(fd);
            char buf[8];
            iovec local{buf, sizeof(buf)}, remote{reinterpret_cast<void*>(0x400000), sizeof(buf)};
            const long n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
            r += std::to_string(n < 0 && errno == EPERM ? EPERM : 0) + " ";  // EFAULT: it read, from nothing
            const int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
            const long got = syscall(SYS_pidfd_getfd, pidfd, 2, 0);
            r += err(got);
            if (got >= 0) close(int(got));
            r += "| ";
        }
        // What ps and top read stays readable.
        r += testenv::read_file("/proc/" + std::to_string(daemon) + "/status").find("bulwarkd") != std::string::npos
                 ? "status"
                 : "no-status";
        return write(out, r.data(), r.size()) == ssize_t(r.size()) ? 0 : 99;
    });
    kill(target, SIGKILL);
    waitpid(target, nullptr, 0);
    CHECK(o.exit_code == 0);
    // /proc/PID/mem says EACCES where the others say EPERM (mm_access).
    CHECK(o.output == "1 13 1 1 | 0 0 0 0 | status");
    CHECK(kill(daemon, 0) == 0);
    auto recs = tamper_records("ptrace", 4);
    CHECK(recs.size() >= 4);
    for (const auto& r : recs) CHECK(r["name"] == "bulwarkd");
}

// --- bulwark's own files -------------------------------------------------

namespace {

// A library bulwarkd maps executable (from /proc/PID/maps, which stays
// readable): one of bulwark's own files.
std::string library_of_daemon() {
    std::ifstream in("/proc/" + std::to_string(g_daemon.pid()) + "/maps");
    for (std::string line; std::getline(in, line);) {
        const size_t slash = line.find('/');
        if (slash == std::string::npos || line.find(" r-xp ") == std::string::npos) continue;
        const std::string path = line.substr(slash);
        if (path.find(".so") != std::string::npos && path.find("libc.so") == std::string::npos) return path;
    }
    return "";
}

// Every change the guard refuses, tried on `path` (`other`: a file to
// rename over it); each returns 0 or -1 with errno.
std::vector<std::pair<std::string, std::function<long()>>> changes_of(const std::string& path,
                                                                      const std::string& other) {
    static const struct timespec forged[2] = {{1000000000, 0}, {1000000000, 0}};
    return {
        {"write", [=] { const int fd = open(path.c_str(), O_WRONLY | O_APPEND); return fd < 0 ? -1L : (close(fd), 0L); }},
        {"truncate", [=] { return long(truncate(path.c_str(), 0)); }},
        {"chmod", [=] { return long(chmod(path.c_str(), 0777)); }},
        {"utimes", [=] { return long(utimensat(AT_FDCWD, path.c_str(), forged, 0)); }},
        {"setxattr", [=] { return long(setxattr(path.c_str(), "trusted.bwb", "x", 1, 0)); }},
        {"mount", [=] { return long(mount(other.c_str(), path.c_str(), nullptr, MS_BIND, nullptr)); }},
        {"rename-over", [=] { return long(rename(other.c_str(), path.c_str())); }},
        {"rename", [=] { return long(rename(path.c_str(), (path + ".moved").c_str())); }},
        {"unlink", [=] { return long(unlink(path.c_str())); }},
    };
}

}  // namespace

TEST_CASE("root cannot write, truncate, replace, move or mount over bulwark's binaries and libraries; a copy it can "
          "(control)",
          "[self][self-file]") {
    const std::string lib = library_of_daemon();
    INFO(lib);
    REQUIRE(!lib.empty());
    const std::string bytes = testenv::read_file(lib);
    const Times before = times_of(lib);
    struct stat st_before {};
    REQUIRE(stat(lib.c_str(), &st_before) == 0);

    // Control: each change works on a copy of the library, a file of the test.
    {
        std::ofstream(p("lib-copy.so"), std::ios::binary) << bytes;
        std::ofstream(p("lib-other.so"), std::ios::binary) << bytes;
        for (const auto& [what, fn] : changes_of(p("lib-copy.so"), p("lib-other.so"))) {
            INFO("control: " << what);
            CHECK(errno_in_child(fn) == 0);
            umount2(p("lib-copy.so").c_str(), MNT_DETACH);  // after the bind mount
            if (what == "rename-over") std::ofstream(p("lib-other.so"), std::ios::binary) << bytes;
            if (what == "rename") CHECK(rename((p("lib-copy.so") + ".moved").c_str(), p("lib-copy.so").c_str()) == 0);
        }
        CHECK(!fs::exists(p("lib-copy.so")));  // the last change unlinked it
    }

    // What would replace it lies beside it: a rename does not cross filesystems.
    const std::string forged = lib + ".bwb-forged";
    std::ofstream(forged, std::ios::binary) << "not a library\n";
    const auto changes = changes_of(lib, forged);
    for (const auto& [what, fn] : changes) {
        INFO(what);
        CHECK(errno_in_child(fn) == EPERM);
    }
    struct stat st_after {};
    REQUIRE(stat(lib.c_str(), &st_after) == 0);
    CHECK(st_after.st_ino == st_before.st_ino);
    CHECK(st_after.st_mode == st_before.st_mode);
    CHECK(testenv::read_file(lib) == bytes);
    const Times after = times_of(lib);
    CHECK(after.size == before.size);
    CHECK(same(after.mtime, before.mtime));
    CHECK(testenv::read_file(forged) == "not a library\n");
    CHECK(unlink(forged.c_str()) == 0);  // a file beside it is no file of bulwark's

    // The binary bulwarkd runs and the bulwarkctl installed with it.
    for (const std::string& bin : {std::string("/usr/sbin/bulwarkd"), std::string("/usr/bin/bulwarkctl")}) {
        INFO(bin);
        CHECK(errno_in_child([&] { return long(unlink(bin.c_str())); }) == EPERM);
        const std::string beside = bin + ".bwb-forged";
        std::ofstream(beside) << "#!/bin/sh\n";
        CHECK(errno_in_child([&] { return long(rename(beside.c_str(), bin.c_str())); }) == EPERM);
        CHECK(unlink(beside.c_str()) == 0);
        CHECK(fs::exists(bin));
    }
    CHECK(errno_in_child([] {
              const int fd = open("/usr/bin/bulwarkctl", O_WRONLY | O_APPEND);
              return fd < 0 ? -1L : (close(fd), 0L);
          }) == EPERM);
    CHECK(testenv::run_program({"/usr/bin/bulwarkctl", "status", "--socket", kSocket}).exit_code == 0);

    const auto recs = tamper_records("self-file", changes.size() + 5);
    REQUIRE(recs.size() >= changes.size() + 5);
    std::set<std::string> seen;
    for (const auto& r : recs) {
        CHECK(r["action"] == "denied");
        seen.insert(r["change"].get<std::string>());
    }
    for (const auto& [what, fn] : changes) CHECK(seen.count(what) == 1);
    CHECK(recs[0]["path"] == lib);  // an open names the file by its path
}

// --- tampering with the maps ----------------------------------------------

namespace {

// The detect-and-restore cases below need a root process's bpf() calls to
// get through: bulwarkd runs them with selfProtection: false.
void restart_unguarded() {
    static bool done = false;
    if (done) return;
    done = true;
    REQUIRE(g_daemon.stop() == 0);
    testenv::write_file(p("bulwark-unguarded.yaml"),
                        testenv::read_file(p("bulwark.yaml")) + "selfProtection: false\n");
    g_daemon.start(g_bulwarkd, p("bulwark-unguarded.yaml"));
}

}  // namespace

namespace {

// A map of the loaded bulwark object by name, as any root process finds it.
int map_fd_named(const std::string& name) {
    uint32_t id = 0;
    while (bpf_map_get_next_id(id, &id) == 0) {
        const int fd = bpf_map_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && name == info.name) return fd;
        close(fd);
    }
    return -1;
}

}  // namespace

TEST_CASE("with selfProtection: false the BPF LSM program refused above loads (the refusal was bulwark's)",
          "[tamper]") {
    restart_unguarded();
    const int fd = load_returning_zero(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "bpf_lsm_file_open");
    CHECK(fd >= 0);
    close(fd);
}

TEST_CASE("bw_state switched by a plain bpf() call is found, restored and reported TAMPERED", "[tamper]") {
    restart_unguarded();
    int rc = -1;
    json before = status_json(&rc);
    REQUIRE(rc == 0);
    CHECK(before["integrity"]["state"] == "intact");
    const uint32_t generation = before["generation"].get<uint32_t>();

    const int state_fd = map_fd_named("bw_state");
    REQUIRE(state_fd >= 0);
    const uint32_t zero = 0;
    bw_state st{};
    REQUIRE(bpf_map_lookup_elem(state_fd, &zero, &st) == 0);
    st.active_slot = 7;
    REQUIRE(bpf_map_update_elem(state_fd, &zero, &st, BPF_ANY) == 0);  // root may: selfProtection is off

    json after = status_json(&rc);
    INFO(after.dump());
    CHECK(rc == 4);  // docs/daemon.md: bulwarkctl status exits 4 when TAMPERED
    CHECK(after["integrity"]["state"] == "TAMPERED");
    CHECK(after["integrity"]["detail"].get<std::string>().find("bw_state says slot 7") != std::string::npos);
    const uint32_t restored = after["integrity"]["restored_generation"].get<uint32_t>();
    CHECK(restored == generation + 1);
    bw_state now{};
    REQUIRE(bpf_map_lookup_elem(state_fd, &zero, &now) == 0);
    CHECK(now.active_slot < 2);
    CHECK(now.generation == restored);
    close(state_fd);
    // Enforcement is whole again (control: the helper opens the plain file).
    CHECK(testenv::open_errno(p("free.txt"), O_RDONLY) == 0);
    CHECK(errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == EPERM);
    CHECK(g_daemon.output().find("TAMPERED: the kernel no longer holds what bulwarkd wrote: bw_state says slot 7") !=
          std::string::npos);
}

TEST_CASE("a generation's file map emptied behind bulwarkd's back is restored within seconds", "[tamper]") {
    restart_unguarded();
    const int state_fd = map_fd_named("bw_state");
    REQUIRE(state_fd >= 0);
    const uint32_t zero = 0;
    bw_state st{};
    REQUIRE(bpf_map_lookup_elem(state_fd, &zero, &st) == 0);
    // Every entry of the slot in force, by identity (bw_files) and by path (bw_names).
    auto empty_inner = [&](const char* outer_name, size_t key_size) {
        const int outer = map_fd_named(outer_name);
        REQUIRE(outer >= 0);
        uint32_t inner_id = 0;
        REQUIRE(bpf_map_lookup_elem(outer, &st.active_slot, &inner_id) == 0);
        const int inner = bpf_map_get_fd_by_id(inner_id);
        close(outer);
        REQUIRE(inner >= 0);
        std::vector<unsigned char> next(key_size);
        size_t deleted = 0;
        while (bpf_map_get_next_key(inner, nullptr, next.data()) == 0) {  // the first key left
            if (bpf_map_delete_elem(inner, next.data()) != 0) break;
            ++deleted;
        }
        close(inner);
        return deleted;
    };
    CHECK(empty_inner("bw_files", sizeof(bw_file_key)) >= 5);
    CHECK(empty_inner("bw_names", sizeof(bw_name_key)) >= 1);
    // The attack works until bulwarkd notices: nothing matches now ...
    CHECK(errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == 0);
    // ... and its periodic check restores the policy without being asked.
    bool denied = false;
    for (int i = 0; i < 300 && !denied; ++i) {
        denied = errno_in_child([] { return long(open(p("secret.txt").c_str(), O_RDONLY)); }) == EPERM;
        if (!denied) usleep(100 * 1000);  // polling a condition, bounded (30 s)
    }
    CHECK(denied);
    int rc = -1;
    json after = status_json(&rc);
    CHECK(rc == 4);
    CHECK(after["integrity"]["detail"].get<std::string>().find("sampled entries are missing or changed") !=
          std::string::npos);
    close(state_fd);
}

int main(int argc, char** argv) {
    if (const char* d = getenv("BULWARKD")) g_bulwarkd = d;
    return testenv::suite_main(
        argc, argv, [] { setup_files(testenv::self_exe()); }, g_daemon, g_bulwarkd, p("bulwark.yaml"),
        [&] { return Catch::Session().run(argc, argv); });
}
