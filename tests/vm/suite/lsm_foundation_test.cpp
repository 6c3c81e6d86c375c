// LSM mode end to end: the real bulwarkd, a real policy, a real kernel.
// Runs as root inside the test VM (tests/vm), started by its /init.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "test_env.h"

namespace fs = std::filesystem;
using testenv::Outcome;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/bw";
const std::string kBind = "/tmp/bw-bind";  // bind mount of kDir
const std::string kCgroup = "/sys/fs/cgroup/bwtest";
const std::string kAudit = kDir + "/audit.jsonl";
const std::string kSecretBytes = "top secret: the launch codes\n";
const std::string kReadonlyBytes = "read me, never change me\n";
const std::string kCanaryBytes = "if you can read this, the kill failed\n";
using testenv::kToolExit;

std::string g_bulwarkd = "/usr/sbin/bulwarkd";
std::string g_self;
testenv::Daemon g_daemon;

std::string p(const std::string& name) { return kDir + "/" + name; }

void setup_files() {
    fs::create_directories(kDir);
    fs::create_directories(p("policies"));
    testenv::write_file(p("secret.txt"), kSecretBytes);
    testenv::write_file(p("readonly.txt"), kReadonlyBytes);
    testenv::write_file(p("canary.txt"), kCanaryBytes);
    testenv::write_file(p("plain.txt"), "nothing to see\n");
    // Two distinct executables (copies of this binary, which exits with
    // kToolExit when called as a tool).
    fs::copy_file(g_self, p("allowed-tool"), fs::copy_options::overwrite_existing);
    fs::copy_file(g_self, p("blocked-tool"), fs::copy_options::overwrite_existing);
    chmod(p("allowed-tool").c_str(), 0755);
    chmod(p("blocked-tool").c_str(), 0755);
    // Other names for the same files.
    link(p("secret.txt").c_str(), p("secret-hardlink").c_str());
    symlink(p("secret.txt").c_str(), p("secret-symlink").c_str());
    link(p("canary.txt").c_str(), p("canary-hardlink").c_str());
    link(p("blocked-tool").c_str(), p("blocked-hardlink").c_str());
    symlink(p("blocked-tool").c_str(), p("blocked-symlink").c_str());
    fs::create_directories(kBind);
    if (mount(kDir.c_str(), kBind.c_str(), nullptr, MS_BIND, nullptr) != 0)
        throw std::runtime_error(std::string("bind mount: ") + strerror(errno));
    mkdir(kCgroup.c_str(), 0755);

    testenv::write_file(p("policies/files.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: vm-files
spec:
  protectedFiles:
    - path: /tmp/bw/secret.txt
      deny: all
    - path: /tmp/bw/readonly.txt
      deny: write
  killOnOpen:
    - path: /tmp/bw/canary.txt
)");
    testenv::write_file(p("policies/exec.yaml"), R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: vm-exec
spec:
  scope:
    cgroups: [/sys/fs/cgroup/bwtest]
  execAllowlist:
    - /tmp/bw/allowed-tool
    # its loader and libraries: they are mapped executable
    - /usr/lib/x86_64-linux-gnu/
    - /usr/lib64/
)");
    testenv::write_file(p("bulwark.yaml"), "policyDir: /tmp/bw/policies\nauditLog: /tmp/bw/audit.jsonl\nmode: lsm\n");
}

// The audit records of one process; waits for at least one.
std::vector<json> records_of(pid_t pid) {
    return testenv::wait_for_audit(kAudit, [pid](const json& r) { return r.value("pid", -1) == pid; });
}

// After `pid`'s record arrived, make one more violation and wait for it:
// the ring buffer is ordered, so every record of `pid` is in the log by then.
size_t settled_count_of(pid_t pid) {
    Outcome marker = testenv::run_child([](int) { return testenv::open_errno(p("secret.txt"), O_RDONLY); });
    REQUIRE(!records_of(marker.pid).empty());
    size_t n = 0;
    for (const auto& r : testenv::audit_records(kAudit)) n += r.value("pid", -1) == pid;
    return n;
}

void check_record(const json& r, pid_t pid, const std::string& path, const std::string& action,
                  const std::string& rule, const std::string& policy) {
    INFO(r.dump());
    CHECK(r["v"] == 1);
    CHECK(r["pid"] == pid);
    CHECK(r["path"] == path);
    CHECK(r["path_source"] == "kernel");
    CHECK(r["action"] == action);
    CHECK(r["rule"] == rule);
    CHECK(r["policy"] == policy);
    CHECK(r["mode"] == "lsm");
    CHECK(r["policy_mode"] == "enforce");
    CHECK(r["seq"].get<uint64_t>() > 0);
    CHECK(r["time"].get<std::string>().size() == std::string("2026-01-01T00:00:00.000000000Z").size());
}

}  // namespace

TEST_CASE("cat of a protected file fails with EPERM and the bytes stay", "[deny]") {
    Outcome cat = testenv::run_program({"/bin/cat", p("secret.txt")});
    CHECK(cat.exited);
    CHECK(cat.exit_code != 0);
    CHECK(cat.output.find("Operation not permitted") != std::string::npos);  // EPERM
    CHECK(cat.output.find(kSecretBytes) == std::string::npos);
    auto recs = records_of(cat.pid);
    REQUIRE(recs.size() == 1);
    check_record(recs[0], cat.pid, p("secret.txt"), "denied", "protectedFiles(all)", "vm-files");
    CHECK(recs[0]["comm"] == "cat");
    CHECK(recs[0]["write"] == false);
    CHECK(settled_count_of(cat.pid) == 1);
}

TEST_CASE("every open of a deny-all file fails with EPERM", "[deny]") {
    for (int flags : {O_RDONLY, O_WRONLY, O_RDWR, O_WRONLY | O_TRUNC, O_RDONLY | O_NONBLOCK}) {
        INFO("flags " << flags);
        Outcome o = testenv::run_child([flags](int) { return testenv::open_errno(p("secret.txt"), flags); });
        CHECK(o.exited);
        CHECK(o.exit_code == EPERM);
    }
}

TEST_CASE("a write-protected file can be read but not opened for writing", "[deny]") {
    Outcome rd = testenv::run_child([](int fd) {
        std::string s = testenv::read_file(p("readonly.txt"));
        return write(fd, s.data(), s.size()) == ssize_t(s.size()) ? 0 : 1;
    });
    CHECK(rd.exit_code == 0);
    CHECK(rd.output == kReadonlyBytes);

    for (int flags : {O_WRONLY, O_RDWR, O_WRONLY | O_APPEND, O_RDONLY | O_TRUNC}) {
        INFO("flags " << flags);
        Outcome o = testenv::run_child([flags](int) { return testenv::open_errno(p("readonly.txt"), flags); });
        CHECK(o.exit_code == EPERM);
        auto recs = records_of(o.pid);
        REQUIRE(recs.size() == 1);
        check_record(recs[0], o.pid, p("readonly.txt"), "denied", "protectedFiles(write)", "vm-files");
        CHECK(recs[0]["write"] == true);
    }
    CHECK(testenv::read_file(p("readonly.txt")) == kReadonlyBytes);
}

TEST_CASE("opening a kill-on-open file kills the opener before it reads a byte", "[kill]") {
    for (const std::string& path : {p("canary.txt"), p("canary-hardlink"), kBind + "/canary.txt"}) {
        INFO(path);
        Outcome o = testenv::run_child([path](int out) {
            int fd = open(path.c_str(), O_RDONLY);
            if (fd < 0) return 100 + errno;  // not killed: report why
            char buf[256];
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n > 0) (void)!write(out, buf, size_t(n));
            return 0;
        });
        CHECK(o.signaled);
        CHECK(o.signal == SIGKILL);
        CHECK(o.output.empty());
        auto recs = records_of(o.pid);
        REQUIRE(recs.size() == 1);
        check_record(recs[0], o.pid, path, "killed", "killOnOpen", "vm-files");
        CHECK(settled_count_of(o.pid) == 1);
    }
    CHECK(testenv::read_file(p("plain.txt")) == "nothing to see\n");
}

TEST_CASE("a hardlink, a symlink and a bind mount get the same verdict", "[identity]") {
    struct Case {
        std::string open_path;
        std::string logged_path;  // what the kernel reports (symlinks resolve)
    };
    for (const Case& c : {Case{p("secret-hardlink"), p("secret-hardlink")},
                          Case{p("secret-symlink"), p("secret.txt")},
                          Case{kBind + "/secret.txt", kBind + "/secret.txt"},
                          Case{kBind + "/secret-hardlink", kBind + "/secret-hardlink"}}) {
        INFO(c.open_path);
        Outcome o = testenv::run_child([&c](int) { return testenv::open_errno(c.open_path, O_RDONLY); });
        CHECK(o.exit_code == EPERM);
        auto recs = records_of(o.pid);
        REQUIRE(recs.size() == 1);
        check_record(recs[0], o.pid, c.logged_path, "denied", "protectedFiles(all)", "vm-files");
    }
    // A file that no rule names is untouched, under every name.
    Outcome plain = testenv::run_child([](int) { return testenv::open_errno(kBind + "/plain.txt", O_RDWR); });
    CHECK(plain.exit_code == 0);
}

namespace {
// How `path` ran when exec'd inside (or outside) the allowlist's cgroup.
int exec_in_scope(const std::string& path, bool in_scope) {
    return testenv::exec_status(path, in_scope ? kCgroup : "");
}
}  // namespace

TEST_CASE("exec outside the allowlist fails with EPERM inside its scope", "[exec]") {
    CHECK(exec_in_scope(p("allowed-tool"), true) == kToolExit);

    for (const std::string& path :
         {p("blocked-tool"), p("blocked-hardlink"), p("blocked-symlink"), kBind + "/blocked-tool"}) {
        INFO(path);
        CHECK(exec_in_scope(path, true) == 200 + EPERM);
        auto recs = testenv::wait_for_audit(kAudit, [](const json& r) {
            return r["kind"] == "exec" && r["action"] == "denied";
        });
        REQUIRE(!recs.empty());
    }
    // The grandchild's pid is not known here; match on the exec record of the last path.
    auto recs = testenv::wait_for_audit(
        kAudit, [](const json& r) { return r["kind"] == "exec" && r["path"] == kBind + "/blocked-tool"; });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "denied");
    CHECK(recs[0]["rule"] == "execAllowlist");
    CHECK(recs[0]["policy"] == "vm-exec");
    CHECK(recs[0]["mode"] == "lsm");
}

TEST_CASE("the allowlist does not reach processes outside its scope", "[exec]") {
    CHECK(exec_in_scope(p("blocked-tool"), false) == kToolExit);
}

TEST_CASE("SIGTERM stops the daemon cleanly and detaches enforcement", "[shutdown]") {
    REQUIRE(g_daemon.running());
    CHECK(g_daemon.stop() == 0);
    CHECK(testenv::read_file(p("secret.txt")) == kSecretBytes);
    CHECK(testenv::read_file(p("canary.txt")) == kCanaryBytes);
    CHECK(exec_in_scope(p("blocked-tool"), true) == kToolExit);
    // Every line of the audit log is one JSON object.
    CHECK_NOTHROW(testenv::audit_records(kAudit));
}

int main(int argc, char** argv) {
    if (const char* d = getenv("BULWARKD")) g_bulwarkd = d;
    return testenv::suite_main(
        argc, argv,
        [] {
            g_self = testenv::self_exe();
            setup_files();
        },
        g_daemon, g_bulwarkd, p("bulwark.yaml"), [&] { return Catch::Session().run(argc, argv); });
}
