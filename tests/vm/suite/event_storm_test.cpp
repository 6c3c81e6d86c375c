// A storm of violations larger than the ring buffer: every verdict is still
// right, and the events delivered to the audit log plus the losses bulwarkd
// reports add up to exactly the violations caused.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "test_env.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kDir = "/tmp/storm";
const std::string kAudit = kDir + "/audit.jsonl";
constexpr int kWorkers = 4;
constexpr int kOpensPerWorker = 5000;

testenv::Daemon g_daemon;

void setup() {
    fs::create_directories(kDir + "/policies");
    testenv::write_file(kDir + "/target.txt", "storm target\n");
    testenv::write_file(kDir + "/policies/storm.yaml", R"(apiVersion: bulwark/v1
kind: Policy
metadata:
  name: storm
spec:
  protectedFiles:
    - path: /tmp/storm/target.txt
)");
    // A 4 KiB ring buffer holds about ten events: the storm must overflow it.
    testenv::write_file(kDir + "/bulwark.yaml",
                       "policyDir: /tmp/storm/policies\nauditLog: /tmp/storm/audit.jsonl\nringBufferKiB: 4\n"
                       "journal: false\nmode: lsm\n");
}

}  // namespace

TEST_CASE("a violation storm: verdicts stay right, delivered + lost = caused", "[storm]") {
    std::vector<pid_t> workers;
    std::vector<int> pipes;
    for (int w = 0; w < kWorkers; ++w) {
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            int denied = 0, other = 0;
            for (int i = 0; i < kOpensPerWorker; ++i) {
                int fd = open((kDir + "/target.txt").c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0 && errno == EPERM)
                    ++denied;
                else {
                    ++other;
                    if (fd >= 0) close(fd);
                }
            }
            int counts[2] = {denied, other};
            (void)!write(p[1], counts, sizeof(counts));
            _exit(0);
        }
        close(p[1]);
        workers.push_back(pid);
        pipes.push_back(p[0]);
    }
    int denied = 0, other = 0;
    for (size_t w = 0; w < workers.size(); ++w) {
        int counts[2] = {0, 0};
        REQUIRE(read(pipes[w], counts, sizeof(counts)) == sizeof(counts));
        close(pipes[w]);
        denied += counts[0];
        other += counts[1];
        int status = 0;
        waitpid(workers[w], &status, 0);
    }
    const int caused = kWorkers * kOpensPerWorker;
    CHECK(denied == caused);  // every single open was refused
    CHECK(other == 0);

    // Stopping drains the queue and writes the final loss report (suite_main
    // then sees the daemon already stopped).
    REQUIRE(g_daemon.stop() == 0);
    uint64_t delivered = 0, lost = 0, malformed = 0, lost_records = 0;
    for (const auto& r : testenv::audit_records(kAudit)) {
        if (r["kind"] == "file_open" && r["path"] == kDir + "/target.txt") ++delivered;
        if (r["kind"] == "lost") {
            ++lost_records;
            lost += r["lost_kernel"].get<uint64_t>() + r["lost_queue"].get<uint64_t>() +
                    r["lost_write"].get<uint64_t>();
            malformed += r["malformed"].get<uint64_t>();
        }
    }
    INFO("delivered " << delivered << ", lost " << lost);
    CHECK(lost > 0);  // the storm really overflowed the buffer
    CHECK(lost_records >= 1);
    CHECK(delivered + lost == uint64_t(caused));
    CHECK(malformed == 0);
    // Sequence numbers have no gaps.
    uint64_t expect = 1;
    for (const auto& r : testenv::audit_records(kAudit)) CHECK(r["seq"].get<uint64_t>() == expect++);
}

int main(int argc, char** argv) {
    return testenv::suite_main(argc, argv, setup, g_daemon, "/usr/sbin/bulwarkd", kDir + "/bulwark.yaml",
        [&] { return Catch::Session().run(argc, argv); });
}
