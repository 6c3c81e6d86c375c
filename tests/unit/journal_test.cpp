// Journal entries and burst coalescing, and the enrichment helpers.
#include <catch2/catch.hpp>

#include <cstring>

#include "daemon/coalescer.h"
#include "daemon/enrich.h"
#include "daemon/journal_sink.h"

using namespace bulwark;
using namespace std::chrono_literals;

namespace {

Event sample(uint32_t verdict, uint16_t kind = BW_EV_FILE_OPEN) {
    bw_event e{};
    e.size = sizeof(e);
    e.abi = BW_ABI_VERSION;
    e.kind = kind;
    e.verdict = verdict;
    e.action = kind == BW_EV_EXEC ? BW_ACT_NONE : BW_ACT_DENY_ALL;
    e.op = kind == BW_EV_FILE_CHANGE ? BW_OP_UNLINK : BW_OP_NONE;
    e.pid = 1234;
    e.uid = 1000;
    e.generation = 1;
    e.fd = kind == BW_EV_PREEXISTING ? 4 : -1;
    std::strcpy(e.comm, "cat");
    std::strcpy(e.path, "/etc/shadow");
    auto ev = decode_event(&e, sizeof(e));
    REQUIRE(ev.ok());
    return *ev;
}

std::string field(const std::vector<std::string>& fields, const std::string& key) {
    for (const auto& f : fields)
        if (f.rfind(key + "=", 0) == 0) return f.substr(key.size() + 1);
    return "<missing>";
}

}  // namespace

TEST_CASE("a violation becomes a journal entry with MESSAGE_ID and BULWARK_ fields") {
    policy::CompiledRule rule;
    rule.kind = policy::RuleKind::protect_all;
    rule.policy = "protect-secrets";
    rule.path = "/etc/shadow";
    EventContext ctx;
    ctx.seq = 9;
    ctx.rule = &rule;
    Enrichment enr{"/usr/bin/cat", "bash", "alice", "ssh.service"};
    auto f = journal_fields(sample(BW_VERDICT_DENIED), ctx, enr);
    CHECK(field(f, "MESSAGE") ==
          "denied open of /etc/shadow by cat[1234] (uid 1000 alice) — policy protect-secrets, protectedFiles(all) [lsm]");
    CHECK(field(f, "MESSAGE_ID") == message_id::kOpenDenied);
    CHECK(field(f, "PRIORITY") == "4");
    CHECK(field(f, "SYSLOG_IDENTIFIER") == "bulwarkd");
    CHECK(field(f, "BULWARK_POLICY") == "protect-secrets");
    CHECK(field(f, "BULWARK_RULE") == "protectedFiles(all)");
    CHECK(field(f, "BULWARK_ACTION") == "denied");
    CHECK(field(f, "BULWARK_MODE") == "lsm");
    CHECK(field(f, "BULWARK_PATH") == "/etc/shadow");
    CHECK(field(f, "BULWARK_PID") == "1234");
    CHECK(field(f, "BULWARK_UID") == "1000");
    CHECK(field(f, "BULWARK_USER") == "alice");
    CHECK(field(f, "BULWARK_EXE") == "/usr/bin/cat");
    CHECK(field(f, "BULWARK_PARENT_COMM") == "bash");
    CHECK(field(f, "BULWARK_UNIT") == "ssh.service");
    CHECK(field(f, "BULWARK_SEQ") == "9");
    CHECK(field(f, "BULWARK_COUNT") == "1");
}

TEST_CASE("each event kind has its own MESSAGE_ID") {
    CHECK(std::string(message_id_for(sample(BW_VERDICT_KILLED))) == message_id::kOpenKilled);
    CHECK(std::string(message_id_for(sample(BW_VERDICT_DENIED, BW_EV_EXEC))) == message_id::kExecDenied);
    CHECK(std::string(message_id_for(sample(BW_VERDICT_DENIED, BW_EV_FILE_CHANGE))) == message_id::kChangeDenied);
    CHECK(std::string(message_id_for(sample(BW_VERDICT_AUDITED))) == message_id::kAudited);
    CHECK(std::string(message_id_for(sample(BW_VERDICT_DENIED, BW_EV_FILE_ACCESS))) == message_id::kAccessDenied);
    // Found, whatever the rule does with it from now on.
    CHECK(std::string(message_id_for(sample(BW_VERDICT_DENIED, BW_EV_PREEXISTING))) == message_id::kPreexisting);
    CHECK(std::string(message_id_for(sample(BW_VERDICT_AUDITED, BW_EV_PREEXISTING))) == message_id::kPreexisting);
}

TEST_CASE("repeats within the window are counted into one summary") {
    Coalescer c(1000ms);
    const auto t0 = Coalescer::Clock::time_point{} + 10s;
    CoalesceKey k{1, 1, 1, 3, "/usr/bin/cat"};
    CoalesceKey other{1, 1, 1, 4, "/usr/bin/cat"};
    CHECK(c.admit(k, t0));
    for (int i = 1; i <= 41; ++i) CHECK_FALSE(c.admit(k, t0 + std::chrono::milliseconds(i * 10)));
    CHECK(c.admit(other, t0 + 20ms));  // a different rule is not a repeat

    std::vector<std::pair<CoalesceKey, uint64_t>> out;
    auto emit = [&](const CoalesceKey& key, uint64_t n) { out.emplace_back(key, n); };
    c.flush(t0 + 500ms, emit);
    CHECK(out.empty());  // window still open
    c.flush(t0 + 1000ms, emit);
    REQUIRE(out.size() == 1);
    CHECK(out[0].first == k);
    CHECK(out[0].second == 41);
    // After the window, the next one goes out at once again.
    CHECK(c.admit(k, t0 + 1500ms));
}

TEST_CASE("a window that ends before a flush keeps its count") {
    Coalescer c(100ms);
    const auto t0 = Coalescer::Clock::time_point{} + 1s;
    CoalesceKey k{1, 1, 1, 3, "x"};
    CHECK(c.admit(k, t0));
    CHECK_FALSE(c.admit(k, t0 + 10ms));
    CHECK(c.admit(k, t0 + 200ms));  // new window, old count kept aside
    uint64_t total = 0;
    c.flush(t0 + 210ms, [&](const CoalesceKey&, uint64_t n) { total += n; });
    CHECK(total == 1);
    c.flush(t0 + 210ms, [&](const CoalesceKey&, uint64_t n) { total += n; }, true);
    CHECK(total == 1);  // the new window had no repeats
}

TEST_CASE("the systemd unit is read off the cgroup path") {
    CHECK(unit_from_cgroup_path("/system.slice/nginx.service") == "nginx.service");
    CHECK(unit_from_cgroup_path("/user.slice/user-1000.slice/session-2.scope") == "session-2.scope");
    CHECK(unit_from_cgroup_path("/system.slice/docker-abc.scope/inner") == "docker-abc.scope");
    CHECK(unit_from_cgroup_path("/") == "");
    CHECK(unit_from_cgroup_path("/bwtest") == "");
}
