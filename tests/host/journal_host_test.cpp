// host tier: violations written by the real journald sink reach a real
// systemd-journald (private, started by with-journald.sh) with every field
// and the right MESSAGE_ID; `journalctl -x` explains them from our catalog;
// bursts are coalesced into one entry with a count.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemon/journal_sink.h"

using namespace bulwark;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    pclose(p);
    return out;
}

std::string journal_dir() {
    const char* d = getenv("JOURNAL_DIR");
    REQUIRE(d != nullptr);
    return d;
}

// Entries matching `match` (journalctl field matches), waiting for `want`.
std::vector<json> entries(const std::string& match, size_t want, std::chrono::seconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<json> out;
        std::string text = run("journalctl -q -D " + journal_dir() + " -o json " + match + " 2>/dev/null");
        size_t pos = 0;
        while (pos < text.size()) {
            size_t end = text.find('\n', pos);
            if (end == std::string::npos) end = text.size();
            if (end > pos) out.push_back(json::parse(text.substr(pos, end - pos)));
            pos = end + 1;
        }
        if (out.size() >= want || std::chrono::steady_clock::now() > deadline) return out;
        std::this_thread::sleep_for(50ms);
    }
}

uint32_t unique_pid() {
    static std::mt19937 rng(std::random_device{}());
    return 4'000'000 + static_cast<uint32_t>(rng() % 100'000);  // above pid_max: never a real process
}

Event make_event(uint32_t pid, uint32_t verdict, uint16_t kind, uint32_t rule_id) {
    bw_event e{};
    e.size = sizeof(e);
    e.abi = BW_ABI_VERSION;
    e.kind = kind;
    e.verdict = verdict;
    e.action = kind == BW_EV_EXEC ? BW_ACT_NONE : (verdict == BW_VERDICT_KILLED ? BW_ACT_KILL : BW_ACT_DENY_ALL);
    e.pid = pid;
    e.tid = pid;
    e.ppid = 1;
    e.uid = 1000;
    e.gid = 1000;
    e.rule_id = rule_id;
    e.generation = 1;
    e.dev = (8u << 20) | 1;
    e.ino = 99;
    e.fd = -1;
    std::strcpy(e.comm, "hosttest");
    std::strcpy(e.path, "/srv/secret/key.pem");
    auto ev = decode_event(&e, sizeof(e));
    REQUIRE(ev.ok());
    return *ev;
}

}  // namespace

TEST_CASE("a violation reaches journald with its MESSAGE_ID and every BULWARK_ field") {
    policy::CompiledRule rule;
    rule.kind = policy::RuleKind::protect_all;
    rule.policy = "host-secrets";
    rule.path = "/srv/secret/key.pem";
    EventContext ctx;
    ctx.seq = 17;
    ctx.boot_id = "test-boot";
    ctx.rule = &rule;
    const uint32_t pid = unique_pid();
    Enrichment enr{"/usr/bin/cat", "bash", "alice", "ssh.service"};
    JournalSink sink(0ms);
    sink.write(make_event(pid, BW_VERDICT_DENIED, BW_EV_FILE_OPEN, 0), ctx, enr);
    REQUIRE(sink.failed() == 0);

    auto got = entries(std::string("MESSAGE_ID=") + message_id::kOpenDenied + " BULWARK_PID=" + std::to_string(pid), 1);
    REQUIRE(got.size() == 1);
    const json& e = got[0];
    CHECK(e["MESSAGE"] ==
          "denied open of /srv/secret/key.pem by hosttest[" + std::to_string(pid) +
              "] (uid 1000 alice) — policy host-secrets, protectedFiles(all) [lsm]");
    CHECK(e["PRIORITY"] == "4");
    CHECK(e["SYSLOG_IDENTIFIER"] == "bulwarkd");
    CHECK(e["BULWARK_KIND"] == "file_open");
    CHECK(e["BULWARK_ACTION"] == "denied");
    CHECK(e["BULWARK_MODE"] == "lsm");
    CHECK(e["BULWARK_POLICY"] == "host-secrets");
    CHECK(e["BULWARK_POLICY_MODE"] == "enforce");
    CHECK(e["BULWARK_RULE"] == "protectedFiles(all)");
    CHECK(e["BULWARK_RULE_PATH"] == "/srv/secret/key.pem");
    CHECK(e["BULWARK_PATH"] == "/srv/secret/key.pem");
    CHECK(e["BULWARK_PID"] == std::to_string(pid));
    CHECK(e["BULWARK_PPID"] == "1");
    CHECK(e["BULWARK_UID"] == "1000");
    CHECK(e["BULWARK_USER"] == "alice");
    CHECK(e["BULWARK_COMM"] == "hosttest");
    CHECK(e["BULWARK_EXE"] == "/usr/bin/cat");
    CHECK(e["BULWARK_PARENT_COMM"] == "bash");
    CHECK(e["BULWARK_UNIT"] == "ssh.service");
    CHECK(e["BULWARK_DEV"] == "8:1");
    CHECK(e["BULWARK_INO"] == "99");
    CHECK(e["BULWARK_SEQ"] == "17");
    CHECK(e["BULWARK_BOOT_ID"] == "test-boot");
    CHECK(e["BULWARK_COUNT"] == "1");

    // journalctl -x explains it from the catalog.
    std::string x = run("journalctl -q -x -D " + journal_dir() + " BULWARK_PID=" + std::to_string(pid));
    CHECK(x.find("bulwark denied opening a protected file") != std::string::npos);
    CHECK(x.find("kernel refused the open with EPERM") != std::string::npos);
}

TEST_CASE("each kind has its MESSAGE_ID in the journal") {
    EventContext ctx;
    Enrichment enr;
    JournalSink sink(0ms);
    const uint32_t pid = unique_pid();
    sink.write(make_event(pid, BW_VERDICT_KILLED, BW_EV_FILE_OPEN, 0), ctx, enr);
    sink.write(make_event(pid, BW_VERDICT_DENIED, BW_EV_EXEC, 1), ctx, enr);
    sink.write(make_event(pid, BW_VERDICT_AUDITED, BW_EV_FILE_OPEN, 2), ctx, enr);
    for (const char* id : {message_id::kOpenKilled, message_id::kExecDenied, message_id::kAudited}) {
        INFO(id);
        CHECK(entries(std::string("MESSAGE_ID=") + id + " BULWARK_PID=" + std::to_string(pid), 1).size() == 1);
    }
    std::string x = run("journalctl -q -x -D " + journal_dir() + " MESSAGE_ID=" + message_id::kOpenKilled +
                        " BULWARK_PID=" + std::to_string(pid));
    CHECK(x.find("killed with SIGKILL") != std::string::npos);
}

TEST_CASE("a burst becomes one entry now and one summary with the count") {
    EventContext ctx;
    Enrichment enr{"/usr/bin/burst", "", "", ""};
    JournalSink sink(300ms);
    const uint32_t pid = unique_pid();
    for (int i = 0; i < 50; ++i) sink.write(make_event(pid, BW_VERDICT_DENIED, BW_EV_FILE_OPEN, 5), ctx, enr);
    CHECK(sink.coalesced() == 49);
    // The summary goes out once the window has ended.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sink.sent() < 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        sink.flush();
    }
    auto got = entries("BULWARK_PID=" + std::to_string(pid), 2);
    REQUIRE(got.size() == 2);
    CHECK(got[0]["BULWARK_COUNT"] == "1");
    CHECK(got[1]["BULWARK_COUNT"] == "50");
    CHECK(got[1]["BULWARK_COALESCED"] == "1");
    CHECK(got[1]["MESSAGE"].get<std::string>().find("(49 more times)") != std::string::npos);
}
