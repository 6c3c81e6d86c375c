// Ring-buffer record decoding and the audit/log renderings.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "daemon/enrich.h"
#include "daemon/event.h"

using namespace bulwark;

namespace {

bw_event sample_file_event() {
    bw_event e{};
    e.size = sizeof(bw_event);
    e.abi = BW_ABI_VERSION;
    e.kind = BW_EV_FILE_OPEN;
    e.ts_boot_ns = 123;
    e.cgroup_id = 77;
    e.dev = (8u << 20) | 1u;  // kernel encoding of 8:1
    e.ino = 4242;
    e.pid = 1234;
    e.tid = 1235;
    e.ppid = 1;
    e.uid = 1000;
    e.gid = 100;
    e.verdict = BW_VERDICT_DENIED;
    e.action = BW_ACT_DENY_ALL;
    e.rule_id = 0;
    e.generation = 1;
    e.open_flags = 0;
    e.fd = -1;
    std::strcpy(e.comm, "cat");
    std::strcpy(e.path, "/etc/shadow");
    return e;
}

policy::CompiledRule sample_rule() {
    policy::CompiledRule r;
    r.id = 0;
    r.kind = policy::RuleKind::protect_all;
    r.policy = "protect-secrets";
    r.mode = policy::PolicyMode::enforce;
    r.path = "/etc/shadow";
    return r;
}

}  // namespace

TEST_CASE("a well-formed record decodes") {
    bw_event raw = sample_file_event();
    auto ev = decode_event(&raw, sizeof(raw));
    REQUIRE(ev.ok());
    CHECK(ev->comm == "cat");
    CHECK(ev->path == "/etc/shadow");
    CHECK(ev->raw.pid == 1234);
}

TEST_CASE("malformed records are refused, never misread") {
    bw_event raw = sample_file_event();
    SECTION("short record") {
        auto ev = decode_event(&raw, sizeof(raw) - 1);
        REQUIRE_FALSE(ev.ok());
        CHECK(ev.error().what == "event record of 367 bytes, expected 368");
    }
    SECTION("longer record than the struct") {
        std::vector<char> big(sizeof(raw) + 8);
        std::memcpy(big.data(), &raw, sizeof(raw));
        auto ev = decode_event(big.data(), big.size());
        REQUIRE_FALSE(ev.ok());
        CHECK(ev.error().what == "event record declares 368 bytes in a record of 376, expected 368");
    }
    SECTION("wrong ABI version") {
        raw.abi = 9;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "event record of ABI version 9, expected " + std::to_string(BW_ABI_VERSION));
    }
    SECTION("unknown kind") {
        raw.kind = 7;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "event record of unknown kind 7");
    }
    SECTION("a descriptor on a record that has none, none on a preexisting one") {
        raw.fd = 3;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "event record of kind 1 with descriptor 3");
        raw.kind = BW_EV_PREEXISTING;
        raw.fd = -1;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "event record of kind 4 with descriptor -1");
    }
    SECTION("unknown verdict") {
        raw.verdict = 0;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "event record with unknown verdict 0");
    }
    SECTION("unknown action on a file event") {
        raw.action = 12;
        CHECK(decode_event(&raw, sizeof(raw)).error().what == "file event with unknown action 12");
    }
    SECTION("unterminated strings stay inside their fields") {
        std::memset(raw.comm, 'x', sizeof(raw.comm));
        std::memset(raw.path, 'y', sizeof(raw.path));
        auto ev = decode_event(&raw, sizeof(raw));
        REQUIRE(ev.ok());
        CHECK(ev->comm == std::string(16, 'x'));
        CHECK(ev->path == std::string(256, 'y'));
    }
}

TEST_CASE("an event becomes one audit record with every field") {
    bw_event raw = sample_file_event();
    auto ev = decode_event(&raw, sizeof(raw));
    REQUIRE(ev.ok());
    auto rule = sample_rule();
    EventContext ctx;
    ctx.mode = EnforcementMode::lsm;
    ctx.seq = 5;
    ctx.wall_ns = 1'700'000'000'123'456'789;
    ctx.rule = &rule;
    auto j = audit_record(*ev, ctx);
    CHECK(j["v"] == 1);
    CHECK(j["seq"] == 5);
    CHECK(j["time"] == "2023-11-14T22:13:20.123456789Z");
    CHECK(j["kind"] == "file_open");
    CHECK(j["action"] == "denied");
    CHECK(j["mode"] == "lsm");
    CHECK(j["path"] == "/etc/shadow");
    CHECK(j["path_source"] == "kernel");
    CHECK(j["policy"] == "protect-secrets");
    CHECK(j["policy_mode"] == "enforce");
    CHECK(j["rule"] == "protectedFiles(all)");
    CHECK(j["rule_path"] == "/etc/shadow");
    CHECK(j["pid"] == 1234);
    CHECK(j["tid"] == 1235);
    CHECK(j["ppid"] == 1);
    CHECK(j["uid"] == 1000);
    CHECK(j["gid"] == 100);
    CHECK(j["comm"] == "cat");
    CHECK(j["cgroup_id"] == 77);
    CHECK(j["dev"] == "8:1");
    CHECK(j["ino"] == 4242);
    CHECK(j["write"] == false);
    // One line: no raw newline in the serialized record.
    CHECK(j.dump().find('\n') == std::string::npos);

    CHECK(summary_line(*ev, ctx) ==
          "denied open of /etc/shadow by cat[1234] (uid 1000) — policy protect-secrets, protectedFiles(all) [lsm]");
}

TEST_CASE("kill and exec events name what happened") {
    bw_event raw = sample_file_event();
    raw.verdict = BW_VERDICT_KILLED;
    raw.action = BW_ACT_KILL;
    raw.flags = BW_EVF_WRITE;
    auto ev = decode_event(&raw, sizeof(raw));
    REQUIRE(ev.ok());
    EventContext ctx;
    ctx.seq = 1;
    auto j = audit_record(*ev, ctx);
    CHECK(j["action"] == "killed");
    CHECK(j["write"] == true);
    CHECK(j["policy"] == nullptr);  // generation unknown: said so, not guessed

    raw = sample_file_event();
    raw.kind = BW_EV_EXEC;
    raw.action = BW_ACT_NONE;
    std::strcpy(raw.path, "/usr/bin/nc");
    auto ex = decode_event(&raw, sizeof(raw));
    REQUIRE(ex.ok());
    auto je = audit_record(*ex, ctx);
    CHECK(je["kind"] == "exec");
    CHECK(je.contains("open_flags") == false);
    CHECK(summary_line(*ex, ctx) == "denied exec of /usr/bin/nc by cat[1234] (uid 1000) — rule 0 of generation 1 [lsm]");

    raw = sample_file_event();
    raw.kind = BW_EV_PREEXISTING;
    raw.fd = 9;
    raw.flags = BW_EVF_WRITE;
    auto pre = decode_event(&raw, sizeof(raw));
    REQUIRE(pre.ok());
    auto jp = audit_record(*pre, ctx);
    CHECK(jp["kind"] == "preexisting");
    CHECK(jp["fd"] == 9);
    CHECK(jp["write"] == true);
    CHECK(summary_line(*pre, ctx) == "denied writable descriptor 9 opened before the rule of /etc/shadow by cat[1234] "
                                     "(uid 1000) — rule 0 of generation 1 [lsm]");
}

TEST_CASE("without a kernel path the rule's path is used and marked") {
    bw_event raw = sample_file_event();
    raw.path[0] = 0;
    raw.flags = BW_EVF_PATH_MISSING;
    auto ev = decode_event(&raw, sizeof(raw));
    REQUIRE(ev.ok());
    auto rule = sample_rule();
    EventContext ctx;
    ctx.rule = &rule;
    auto j = audit_record(*ev, ctx);
    CHECK(j["path"] == "/etc/shadow");
    CHECK(j["path_source"] == "policy");
}

TEST_CASE("a refused attempt on bulwark itself is a tamper record without a rule") {
    bw_event raw = sample_file_event();
    raw.kind = BW_EV_TAMPER;
    raw.op = BW_OP_SIGNAL;
    raw.arg = 9;
    raw.action = BW_ACT_NONE;
    raw.flags = BW_EVF_NAME_ONLY;
    raw.uid = 0;
    std::strcpy(raw.comm, "bash");
    std::strcpy(raw.path, "bulwarkd");
    auto ev = decode_event(&raw, sizeof(raw));
    REQUIRE(ev.ok());
    EventContext ctx;
    ctx.mode = EnforcementMode::lsm;
    const auto j = audit_record(*ev, ctx, nullptr);
    CHECK(j["kind"] == "tamper");
    CHECK(j["op"] == "signal");
    CHECK(j["signal"] == 9);
    CHECK(j["action"] == "denied");
    CHECK(j["name"] == "bulwarkd");
    CHECK(j["policy"].is_null());
    CHECK_FALSE(j.contains("open_flags"));
    CHECK(summary_line(*ev, ctx, nullptr) ==
          "denied signal 9 to bulwarkd by bash[1234] (uid 0) — bulwark's self-protection [lsm]");
    // Malformed: an operation of another kind, an action, another verdict.
    bw_event other_op = raw, with_action = raw, killed = raw;
    other_op.op = BW_OP_UNLINK;
    with_action.action = BW_ACT_KILL;
    killed.verdict = BW_VERDICT_KILLED;
    for (const bw_event& bad : {other_op, with_action, killed}) CHECK_FALSE(decode_event(&bad, sizeof(bad)).ok());
    raw.kind = BW_EV_FILE_CHANGE;
    raw.op = BW_OP_SIGNAL;  // a tamper operation on a file change
    raw.action = BW_ACT_DENY_ALL;
    CHECK_FALSE(decode_event(&raw, sizeof(raw)).ok());
}

TEST_CASE("wall-clock time keeps nanoseconds") {
    CHECK(format_wall_time(0) == "1970-01-01T00:00:00.000000000Z");
    CHECK(format_wall_time(1'000'000'001) == "1970-01-01T00:00:01.000000001Z");
}

TEST_CASE("the audit line written field by field is byte for byte the JSON library's") {
    auto rule = sample_rule();
    const Enrichment full{"/usr/bin/cat", "bash", "alice", "ssh.service"};
    const Enrichment empty{};
    struct Shape {
        const char* what;
        uint16_t kind;
        uint32_t verdict, flags, op;
        const char* path;
        const char* comm;
    };
    const Shape shapes[] = {
        {"plain open", BW_EV_FILE_OPEN, BW_VERDICT_DENIED, 0, BW_OP_NONE, "/etc/shadow", "cat"},
        {"write open via a directory", BW_EV_FILE_OPEN, BW_VERDICT_KILLED, BW_EVF_WRITE | BW_EVF_DIR_MATCH,
         BW_OP_NONE, "/srv/secrets/a b", "vi"},
        {"audited exec", BW_EV_EXEC, BW_VERDICT_AUDITED, 0, BW_OP_NONE, "/usr/bin/nc", "sh"},
        {"change, name only", BW_EV_FILE_CHANGE, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_RENAME_FROM, "shadow", "mv"},
        {"preexisting descriptor", BW_EV_PREEXISTING, BW_VERDICT_DENIED, BW_EVF_WRITE, BW_OP_NONE, "/etc/shadow",
         "vi"},
        {"access through a marked descriptor", BW_EV_FILE_ACCESS, BW_VERDICT_KILLED, 0, BW_OP_NONE, "/etc/shadow",
         "cat"},
        {"received descriptor", BW_EV_FILE_OPEN, BW_VERDICT_DENIED, BW_EVF_RECEIVED, BW_OP_NONE, "/etc/shadow",
         "cat"},
        {"executable mapping", BW_EV_EXEC, BW_VERDICT_DENIED, BW_EVF_MMAP_EXEC, BW_OP_NONE, "/tmp/evil.so", "ld.so"},
        {"times changed", BW_EV_FILE_CHANGE, BW_VERDICT_DENIED, BW_EVF_WRITE, BW_OP_UTIMES, "/etc/shadow", "touch"},
        {"truncated path", BW_EV_FILE_OPEN, BW_VERDICT_DENIED, BW_EVF_PATH_TRUNCATED, BW_OP_NONE, "", "cat"},
        {"quotes, backslash, control bytes", BW_EV_FILE_OPEN, BW_VERDICT_DENIED, 0, BW_OP_NONE,
         "/tmp/\"q\"\\x\t\n\x01", "a\"b"},
        {"UTF-8 and invalid UTF-8", BW_EV_FILE_OPEN, BW_VERDICT_DENIED, 0, BW_OP_NONE, "/tmp/caf\xc3\xa9/\xff\xfe",
         "\xe2\x82\xac\x80"},
        {"tamper: a signal", BW_EV_TAMPER, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_SIGNAL, "bulwarkd", "bash"},
        {"tamper: ptrace", BW_EV_TAMPER, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_PTRACE, "bulwarkd", "gdb"},
        {"tamper: a link", BW_EV_TAMPER, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_BPF_LINK, "bw_lsm_file_open",
         "bpftool"},
        {"tamper: a program load", BW_EV_TAMPER, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_BPF_LOAD, "BPF_PROG_LOAD",
         "loader"},
        {"tamper: a map", BW_EV_TAMPER, BW_VERDICT_DENIED, BW_EVF_NAME_ONLY, BW_OP_BPF_MAP, "bw_state", "bpftool"},
    };
    for (const auto& s : shapes) {
        for (const bool with_rule : {true, false}) {
            for (const Enrichment* enr : {&full, &empty, static_cast<const Enrichment*>(nullptr)}) {
                bw_event raw = sample_file_event();
                raw.kind = s.kind;
                raw.verdict = s.verdict;
                raw.flags = s.flags;
                raw.op = s.op;
                raw.fd = s.kind == BW_EV_PREEXISTING ? 7 : -1;
                if (s.kind == BW_EV_TAMPER) {
                    raw.action = BW_ACT_NONE;
                    raw.arg = 34;
                }
                std::strncpy(raw.path, s.path, sizeof(raw.path) - 1);
                std::strncpy(raw.comm, s.comm, sizeof(raw.comm) - 1);
                auto ev = decode_event(&raw, sizeof(raw));
                REQUIRE(ev.ok());
                EventContext ctx;
                ctx.mode = EnforcementMode::tracepoint;
                ctx.seq = 18'446'744'073'709'551'615ull;
                ctx.boot_id = with_rule ? "5c0b8e0a-2f59-4f0e-9d5e-0d3f3c1b7a11" : "";
                ctx.wall_ns = 1'700'000'000'123'456'789;
                ctx.rule = with_rule ? &rule : nullptr;
                std::string line;
                append_audit_line(line, *ev, ctx, enr);
                INFO(s.what << (with_rule ? ", with rule" : ", no rule") << (enr ? "" : ", no enrichment"));
                CHECK(line ==
                      audit_record(*ev, ctx, enr).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            }
        }
    }
}
