// Atomic reload: while a loop opens a protected file and an unprotected one,
// 200 reloads alternating two valid policies never let through an open that
// both policies deny, and never deny one that both allow; and every denial's
// audit record names the policy and the rule of the generation that decided
// it (odd generations: policy A's file rule, even: policy B's directory).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

#include "test_env.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/reload";
const std::string kPolicy = kDir + "/policies/current.yaml";
const std::string kSocket = kDir + "/control.sock";
const std::string kAudit = kDir + "/audit.jsonl";
constexpr int kReloads = 200;

testenv::Daemon g_daemon;

// Policy A names the file; policy B names its directory and another file.
// Both deny every open of guarded/secret.txt; neither touches open.txt.
const char* kPolicyA = R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: variant-a
spec:
  protectedFiles:
    - path: /tmp/reload/guarded/secret.txt
      deny: all
)";
const char* kPolicyB = R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: variant-b
spec:
  protectedFiles:
    - path: /tmp/reload/guarded
      recursive: true
      deny: all
    - path: /tmp/reload/other.txt
      deny: write
)";

void setup() {
    fs::create_directories(kDir + "/policies");
    fs::create_directories(kDir + "/guarded");
    testenv::write_file(kDir + "/guarded/secret.txt", "secret\n");
    testenv::write_file(kDir + "/open.txt", "open\n");
    testenv::write_file(kDir + "/other.txt", "other\n");
    testenv::write_file(kPolicy, kPolicyA);
    // Every denied open is a record; the loop is paced so that they fit the
    // VM's memory and the ring buffer.
    testenv::write_file(kDir + "/bulwark.yaml", "policyDir: /tmp/reload/policies\nauditLog: " + kAudit +
                                                    "\njournal: false\nmode: lsm\nringBufferKiB: 4096\n"
                                                    "controlSocket: " + kSocket + "\n");
}

struct Counts {
    std::atomic<uint64_t> secret_opened{0}, secret_denied{0}, secret_other{0};
    std::atomic<uint64_t> open_opened{0}, open_denied{0}, open_other{0};
    std::atomic<int> stop{0};
};

void count_open(const std::string& path, std::atomic<uint64_t>& opened, std::atomic<uint64_t>& denied,
                std::atomic<uint64_t>& other) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        opened.fetch_add(1, std::memory_order_relaxed);
        close(fd);
    } else if (errno == EPERM) {
        denied.fetch_add(1, std::memory_order_relaxed);
    } else {
        other.fetch_add(1, std::memory_order_relaxed);
    }
}

}  // namespace

TEST_CASE("200 reloads alternating two policies never let a doubly-denied open through", "[reload]") {
    auto* c = static_cast<Counts*>(
        mmap(nullptr, sizeof(Counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    REQUIRE(c != MAP_FAILED);
    new (c) Counts();
    pid_t opener = fork();
    REQUIRE(opener >= 0);
    if (opener == 0) {
        // As fast as it can, but below the reloads and the daemon: under
        // emulation there are only two CPUs for all of them.
        (void)!nice(19);
        const std::string secret = kDir + "/guarded/secret.txt", plain = kDir + "/open.txt";
        while (!c->stop.load()) {
            count_open(secret, c->secret_opened, c->secret_denied, c->secret_other);
            count_open(plain, c->open_opened, c->open_denied, c->open_other);
            usleep(500);
        }
        _exit(0);
    }

    uint64_t generation = 1;
    int failed_reloads = 0;
    for (int i = 0; i < kReloads; ++i) {
        testenv::write_file(kPolicy + ".new", i % 2 == 0 ? kPolicyB : kPolicyA);
        fs::rename(kPolicy + ".new", kPolicy);
        testenv::Outcome r =
            testenv::run_program({"/usr/bin/bulwarkctl", "reload", "--json", "--socket", kSocket});
        if (r.exit_code != 0) {
            ++failed_reloads;
            continue;
        }
        generation = json::parse(r.output)["generation"].get<uint64_t>();
        if (i % 20 == 0) std::cerr << "reload " << i << ": generation " << generation << "\n";
    }
    const uint64_t during = c->secret_denied.load() + c->open_opened.load();
    c->stop.store(1);
    int status = 0;
    waitpid(opener, &status, 0);

    std::cerr << "opens during the reloads: secret " << c->secret_denied << " denied, " << c->secret_opened
              << " opened; open.txt " << c->open_opened << " opened, " << c->open_denied << " denied\n";
    INFO("secret: opened " << c->secret_opened << ", denied " << c->secret_denied << ", other "
                           << c->secret_other << "; open.txt: opened " << c->open_opened << ", denied "
                           << c->open_denied << ", other " << c->open_other);
    CHECK(failed_reloads == 0);
    CHECK(generation == 1 + kReloads);
    CHECK(during > uint64_t(kReloads));  // the loop really ran across the reloads
    CHECK(c->secret_opened.load() == 0);
    CHECK(c->secret_other.load() == 0);
    CHECK(c->secret_denied.load() > 0);
    CHECK(c->open_denied.load() == 0);
    CHECK(c->open_other.load() == 0);
    CHECK(c->open_opened.load() > 0);

    // Every denial has its record, attributed to the generation that made it.
    const uint64_t denied = c->secret_denied.load();
    std::vector<json> recs;
    for (int i = 0; i < 600; ++i) {
        recs = testenv::audit_records(kAudit);
        if (recs.size() >= denied) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    size_t checked = 0, by_a = 0, by_b = 0, wrong = 0;
    for (const auto& r : recs) {
        if (r["kind"] != "file_open") continue;
        ++checked;
        const uint64_t gen = r["generation"].get<uint64_t>();
        const bool a = gen % 2 == 1;  // generation 1 is policy A, each reload flips
        const bool ok = r["action"] == "denied" && r["path"] == kDir + "/guarded/secret.txt" &&
                        r["policy"] == (a ? "variant-a" : "variant-b") &&
                        r["rule_path"] == (a ? kDir + "/guarded/secret.txt" : kDir + "/guarded") &&
                        r["via_directory"] == !a;
        if (!ok && wrong++ < 5) UNSCOPED_INFO("wrong record: " << r.dump());
        (a ? by_a : by_b) += ok;
    }
    std::cerr << "records: " << checked << " checked (" << by_a << " by policy A, " << by_b << " by policy B)\n";
    CHECK(wrong == 0);
    CHECK(checked == denied);  // none lost, none extra
    CHECK(by_a > 0);
    CHECK(by_b > 0);
}

int main(int argc, char** argv) {
    return testenv::suite_main(argc, argv, setup, g_daemon, "/usr/sbin/bulwarkd", kDir + "/bulwark.yaml",
                               [&] { return Catch::Session().run(argc, argv); });
}
