// Enforcement that outlives bulwarkd, in LSM mode with the real daemon:
//
//   1 start-up under load: loops exec allowlisted and other binaries and open
//     protected files while bulwarkd starts and loads generation 1; no wrong
//     verdict at any moment (nothing is half-made)
//   2 kill -9 of bulwarkd while loops read a deny-all file and write a
//     deny-write file: nothing gets through before, while no daemon runs, or
//     after a new bulwarkd adopts the pins; kill-on-open and the exec
//     allowlist hold with no daemon; the adopter continues the generation
//     numbering, attributes the records written while no daemon ran, and its
//     first reload switches atomically; seq continues without duplicates
//   3 a foreground stop (SIGTERM outside systemd) detaches and unpins
//   4 a second bulwarkd is refused and touches nothing
//   5 a kill the kernel cannot carry out (PID 1) is recorded as kill-failed
//     and counted in status and in a `lost` record
//
// Every attack has its control: the same helper opens, writes and executes
// files no rule covers.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "test_env.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using testenv::kToolExit;

namespace {

const std::string kDir = "/tmp/persist";
const std::string kScope = "/sys/fs/cgroup/persist-scope";
const std::string kConfig = kDir + "/bulwark.yaml";
const std::string kSocket = kDir + "/control.sock";
const std::string kAudit = kDir + "/audit.jsonl";
const std::string kPins = "/sys/fs/bpf/bulwark";
const std::string kBulwarkd = "/usr/sbin/bulwarkd";
const std::string kCtl = "/usr/bin/bulwarkctl";

testenv::Daemon g_daemon;

std::string p(const std::string& rel) { return kDir + "/" + rel; }

std::string files_policy(bool extra) {
    std::string y = "apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: persist-files\nspec:\n"
                    "  protectedFiles:\n"
                    "    - path: " + p("secret.txt") + "\n      deny: all\n"
                    "    - path: " + p("dw.txt") + "\n      deny: write\n";
    if (extra) y += "    - path: " + p("later.txt") + "\n      deny: all\n";
    y += "  killOnOpen:\n    - path: " + p("canary.txt") + "\n";
    return y;
}

void setup() {
    fs::create_directories(p("policies"));
    fs::create_directories(kScope);
    testenv::write_file(p("secret.txt"), "secret bytes\n");
    testenv::write_file(p("dw.txt"), "original\n");
    testenv::write_file(p("canary.txt"), "canary\n");
    testenv::write_file(p("later.txt"), "later\n");
    testenv::write_file(p("open.txt"), "open\n");
    // Tools: copies of this binary (it exits kToolExit when called as one).
    for (const char* t : {"allowed-tool", "other-tool"}) fs::copy_file(testenv::self_exe(), p(t));
    chmod(p("allowed-tool").c_str(), 0755);
    chmod(p("other-tool").c_str(), 0755);
    testenv::write_file(p("policies/files.yaml"), files_policy(false));
    testenv::write_file(p("policies/exec.yaml"),
                        "apiVersion: bulwark/v1\nkind: Policy\nmetadata:\n  name: persist-exec\nspec:\n"
                        "  scope:\n    cgroups: [" + kScope + "]\n"
                        "  execAllowlist:\n    - " + p("allowed-tool") +
                        // its loader and libraries (mapped executable)
                        "\n    - /usr/lib/x86_64-linux-gnu/\n    - /usr/lib64/\n");
    testenv::write_file(kConfig, "policyDir: " + p("policies") + "\nauditLog: " + kAudit +
                                     "\njournal: false\nmode: lsm\nringBufferKiB: 4096\ncontrolSocket: " + kSocket + "\n");
}

// Shared with the loop processes.
struct Counts {
    std::atomic<uint64_t> read_ok{0}, read_denied{0}, read_other{0};
    std::atomic<uint64_t> write_ok{0}, write_denied{0}, write_other{0};
    std::atomic<uint64_t> plain_ok{0}, plain_bad{0};
    std::atomic<int> stop{0};
};

Counts* shared_counts() {
    auto* c = static_cast<Counts*>(mmap(nullptr, sizeof(Counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                        -1, 0));
    REQUIRE(c != MAP_FAILED);
    return new (c) Counts();
}

void count_open(const std::string& path, int flags, std::atomic<uint64_t>& ok, std::atomic<uint64_t>& denied,
                std::atomic<uint64_t>& other) {
    int fd = open(path.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) {
        ok.fetch_add(1);
        close(fd);
    } else if (errno == EPERM) {
        denied.fetch_add(1);
    } else {
        other.fetch_add(1);
    }
}

// Reads the deny-all file and opens the deny-write file for writing, paced
// (every denied open is a record), and reads an unprotected file (control).
pid_t start_file_loops(Counts* c) {
    pid_t pid = fork();
    if (pid == 0) {
        while (!c->stop.load()) {
            count_open(p("secret.txt"), O_RDONLY, c->read_ok, c->read_denied, c->read_other);
            count_open(p("dw.txt"), O_WRONLY, c->write_ok, c->write_denied, c->write_other);
            int fd = open(p("open.txt").c_str(), O_RDONLY | O_CLOEXEC);
            char b[8];
            if (fd >= 0 && read(fd, b, sizeof(b)) == 5)
                c->plain_ok.fetch_add(1);
            else
                c->plain_bad.fetch_add(1);
            if (fd >= 0) close(fd);
            usleep(5000);
        }
        _exit(0);
    }
    return pid;
}

void stop_loop(Counts* c, pid_t pid) {
    c->stop.store(1);
    int status = 0;
    waitpid(pid, &status, 0);
}

// Waits until `v` has grown by `by` since `from` (the loops really ran).
bool grows(const std::atomic<uint64_t>& v, uint64_t from, uint64_t by) {
    for (int i = 0; i < 3000; ++i) {
        if (v.load() >= from + by) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

json status_json() {
    testenv::Outcome st = testenv::run_program({kCtl, "status", "--json", "--socket", kSocket});
    REQUIRE(st.exit_code == 0);
    return json::parse(st.output);
}

// A child that opens the kill-on-open file and reads it.
testenv::Outcome open_canary() {
    return testenv::run_child([](int out) {
        int fd = open(p("canary.txt").c_str(), O_RDONLY);
        if (fd < 0) return 100 + errno;
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) (void)!write(out, buf, size_t(n));
        return 0;
    });
}

}  // namespace

TEST_CASE("start-up under load: no wrong verdict while bulwarkd starts and loads generation 1", "[persist]") {
    std::atomic<uint64_t> in_scope_allowed_refused{0}, outside_refused{0}, in_scope_other_refused{0}, execs{0};
    Counts* c = shared_counts();
    pid_t files = start_file_loops(c);
    std::atomic<bool> stop{false};
    // The allowlist is scoped: outside the scope every tool runs, inside it
    // the allowed tool always runs.  A half-made generation (allowlist count
    // without its scopes) would refuse one of them.
    std::thread exec_loop([&] {
        while (!stop.load()) {
            if (testenv::exec_status(p("other-tool"), "") != kToolExit) outside_refused.fetch_add(1);
            if (testenv::exec_status(p("allowed-tool"), kScope) != kToolExit) in_scope_allowed_refused.fetch_add(1);
            if (testenv::exec_status(p("other-tool"), kScope) != kToolExit) in_scope_other_refused.fetch_add(1);
            execs.fetch_add(1);
        }
    });
    const uint64_t before = c->read_ok.load();
    REQUIRE(grows(c->read_ok, before, 3));  // before bulwarkd: nothing is protected (control)
    g_daemon.start(kBulwarkd, kConfig);
    // READY=1 came after the programs attached.  Once one read was denied
    // (an open that began after the attach), no later one may succeed.
    REQUIRE(grows(c->read_denied, 0, 1));
    REQUIRE(grows(c->write_denied, 0, 1));
    const uint64_t read_ok_at_ready = c->read_ok.load(), write_ok_at_ready = c->write_ok.load();
    const uint64_t denied_at_ready = c->read_denied.load(), execs_at_ready = execs.load();
    CHECK(grows(c->read_denied, denied_at_ready, 20));
    for (int i = 0; i < 3000 && execs.load() < execs_at_ready + 5; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop.store(true);
    exec_loop.join();
    stop_loop(c, files);
    INFO("execs " << execs << ", reads ok " << c->read_ok << " denied " << c->read_denied);
    CHECK(execs.load() >= execs_at_ready + 5);
    CHECK(outside_refused.load() == 0);
    CHECK(in_scope_allowed_refused.load() == 0);
    // After READY the scoped allowlist refuses the other tool in its scope.
    CHECK(testenv::exec_status(p("other-tool"), kScope) == 200 + EPERM);
    CHECK(c->read_ok.load() == read_ok_at_ready + 0);  // nothing read after READY...
    CHECK(c->write_ok.load() == write_ok_at_ready);    // ...nor written
    CHECK(c->read_other.load() == 0);
    CHECK(c->plain_bad.load() == 0);
    CHECK(c->plain_ok.load() > 0);
}

TEST_CASE("kill -9 of bulwarkd: enforcement holds with no daemon and through the adoption", "[persist]") {
    REQUIRE(g_daemon.running());
    const std::string dw_before = testenv::read_file(p("dw.txt"));
    Counts* c = shared_counts();
    pid_t loops = start_file_loops(c);
    REQUIRE(grows(c->read_denied, 0, 5));
    REQUIRE(grows(c->write_denied, 0, 5));

    // The crash.
    CHECK(g_daemon.kill_hard() == 128 + SIGKILL);
    CHECK(fs::exists(kPins + "/links/bw_lsm_file_open"));
    const uint64_t rd = c->read_denied.load(), wd = c->write_denied.load();
    CHECK(grows(c->read_denied, rd, 10));  // still denied with no daemon at all
    CHECK(grows(c->write_denied, wd, 10));
    testenv::Outcome killed = open_canary();
    CHECK(killed.signaled);
    CHECK(killed.signal == SIGKILL);
    CHECK(killed.output.empty());
    CHECK(testenv::exec_status(p("other-tool"), kScope) == 200 + EPERM);
    CHECK(testenv::exec_status(p("allowed-tool"), kScope) == kToolExit);  // control: the allowlist's own tool
    CHECK(testenv::exec_status(p("other-tool"), "") == kToolExit);        // control: outside the scope
    // While no bulwarkd runs, running a bulwarkd binary is the credential
    // for bulwark's objects: no process may make its executable one.
    auto set_exe_errno = [] {
        return testenv::run_child([](int) {
                   const int fd = open(kBulwarkd.c_str(), O_RDONLY);
                   if (fd < 0) return 99;
                   return prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) == 0 ? 0 : errno;
               })
            .exit_code;
    };
    CHECK(set_exe_errno() == EPERM);

    // The next bulwarkd adopts what is pinned.
    testenv::Daemon adopter;
    adopter.start(kBulwarkd, kConfig);
    // Control: with a bulwarkd running the kernel's own rule answers (the
    // child's executable is still mapped).
    CHECK(set_exe_errno() == EBUSY);
    // The refusal made while nobody read the ring buffer reached the log.
    auto set_exe = testenv::wait_for_audit(kAudit, [](const json& j) {
        return j["kind"] == "tamper" && j["op"] == "set-exe";
    });
    REQUIRE(set_exe.size() == 1);
    CHECK(set_exe[0]["action"] == "denied");
    const std::string out = adopter.output();
    INFO(out);
    CHECK(out.find("adopting the enforcement a previous bulwarkd left in " + kPins + ": generation 1") !=
          std::string::npos);
    CHECK(out.find("generation 1 has the same rules as the policy now compiled") != std::string::npos);
    json st = status_json();
    CHECK(st["generation"] == 2);
    CHECK(st["persistence"]["adopted_generation"] == 1);
    CHECK(st["persistence"]["pinned"] == true);
    // Its programs replaced the old ones: exactly one link per hook is pinned.
    CHECK(fs::exists(kPins + "/links/bw_lsm_file_open"));
    CHECK(grows(c->read_denied, c->read_denied.load(), 10));

    // Its first reload switches atomically (the loops never got through).
    testenv::write_file(p("policies/files.yaml"), files_policy(true));
    testenv::Outcome r = testenv::run_program({kCtl, "reload", "--json", "--socket", kSocket});
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.output)["generation"] == 3);
    CHECK(testenv::open_errno(p("later.txt"), O_RDONLY) == EPERM);
    CHECK(grows(c->write_denied, c->write_denied.load(), 10));
    stop_loop(c, loops);

    INFO("reads ok " << c->read_ok << " denied " << c->read_denied << "; writes ok " << c->write_ok << " denied "
                     << c->write_denied << "; control reads " << c->plain_ok << " bad " << c->plain_bad);
    CHECK(c->read_ok.load() == 0);
    CHECK(c->write_ok.load() == 0);
    CHECK(c->read_other.load() == 0);
    CHECK(c->write_other.load() == 0);
    CHECK(c->plain_bad.load() == 0);
    CHECK(c->plain_ok.load() > 0);
    CHECK(testenv::read_file(p("dw.txt")) == dw_before);

    // The canary kill while no daemon ran reached the log through the pinned
    // ring buffer, attributed to its policy.
    auto kills = testenv::wait_for_audit(kAudit, [&](const json& j) {
        return j.value("pid", -1) == killed.pid && j.value("kind", "") == "file_open";
    });
    REQUIRE(kills.size() == 1);
    CHECK(kills[0]["action"] == "killed");
    CHECK(kills[0]["policy"] == "persist-files");
    CHECK(kills[0]["generation"] == 1);

    // seq continues across the crash: 1, 2, 3, ... with no repeat and no gap.
    REQUIRE(adopter.stop() == 0);
    std::vector<uint64_t> seqs;
    for (const auto& j : testenv::audit_records(kAudit)) seqs.push_back(j["seq"].get<uint64_t>());
    REQUIRE(seqs.size() > 40);
    for (size_t i = 0; i < seqs.size(); ++i) {
        INFO("record " << i);
        REQUIRE(seqs[i] == i + 1);
    }
    // A foreground stop (SIGTERM outside systemd) detaches and unpins.
    CHECK_FALSE(fs::exists(kPins));
    CHECK(testenv::open_errno(p("secret.txt"), O_RDONLY) == 0);
    testenv::write_file(p("policies/files.yaml"), files_policy(false));
}

TEST_CASE("a second bulwarkd is refused and touches nothing of the running one", "[persist]") {
    g_daemon.start(kBulwarkd, kConfig);
    const std::string log_before = testenv::read_file(kAudit);
    const auto links_before = fs::last_write_time(kPins + "/links");
    testenv::Daemon second;
    std::string out;
    const int rc = testenv::Daemon::run_to_exit_or_ready(kBulwarkd, kConfig, out, second);
    INFO(out);
    REQUIRE(rc == 5);
    CHECK(out.find("another bulwarkd (pid " + std::to_string(g_daemon.pid()) + ") is running") != std::string::npos);
    CHECK(status_json()["pid"] == g_daemon.pid());
    CHECK(testenv::read_file(kAudit) == log_before);
    CHECK(fs::last_write_time(kPins + "/links") == links_before);
    CHECK(testenv::open_errno(p("secret.txt"), O_RDONLY) == EPERM);
    CHECK(testenv::open_errno(p("open.txt"), O_RDONLY) == 0);
}

TEST_CASE("a kill the kernel cannot carry out is reported as kill-failed, never as killed", "[accounting]") {
    // PID 1 is the one process bpf_send_signal refuses to signal.  The VM's
    // init opens the kill-on-open file on request (tests/vm/mkinitramfs.sh).
    REQUIRE(g_daemon.running());
    unlink("/run/bulwark-pid1-result");
    testenv::write_file("/run/bulwark-pid1-open", p("canary.txt"));
    REQUIRE(kill(1, SIGUSR1) == 0);
    for (int i = 0; i < 3000 && access("/run/bulwark-pid1-result", F_OK) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // LSM mode still refused the open: PID 1 read nothing and lives on.
    CHECK(testenv::read_file("/run/bulwark-pid1-result") == "failed\n");
    CHECK(testenv::read_file("/run/bulwark-pid1-error").find("Operation not permitted") != std::string::npos);
    auto recs = testenv::wait_for_audit(kAudit, [](const json& j) {
        return j.value("pid", -1) == 1 && j.value("kind", "") == "file_open";
    });
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["action"] == "kill-failed");
    CHECK(recs[0]["rule"] == "killOnOpen");
    CHECK(recs[0]["policy"] == "persist-files");
    // Counted, and reported as a `lost` record, in status (JSON and text).
    auto lost = testenv::wait_for_audit(kAudit, [](const json& j) {
        return j.value("kind", "") == "lost" && j.value("kill_failed", 0) >= 1;
    });
    REQUIRE(lost.size() == 1);
    CHECK(lost[0]["total_kill_failed"] == 1);
    CHECK(status_json()["kernel"]["kill_failed"] == 1);
    testenv::Outcome text = testenv::run_program({kCtl, "status", "--socket", kSocket});
    CHECK(text.output.find("not enforced by the kernel: 1 kills failed") != std::string::npos);
    // Control: the same open by any other process kills it.
    testenv::Outcome killed = open_canary();
    CHECK(killed.signaled);
    CHECK(killed.signal == SIGKILL);
}

int main(int argc, char** argv) {
    if (testenv::is_tool_call(argc, argv)) return kToolExit;
    try {
        setup();
    } catch (const std::exception& e) {
        std::cerr << "suite setup failed: " << e.what() << "\n";
        return 3;
    }
    int rc = Catch::Session().run(argc, argv);
    if (g_daemon.running() && g_daemon.stop() != 0 && rc == 0) rc = 1;
    return rc;
}
