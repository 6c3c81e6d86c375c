// The typed status bulwarkd sends and bulwarkctl reads back
// (daemon/status_model.h): a round trip keeps every field, and a malformed
// answer is an error that names the key, never a guess.
#include <catch2/catch.hpp>

#include "daemon/status_model.h"

using namespace bulwark;

namespace {

DaemonStatus sample() {
    DaemonStatus s;
    s.pid = 4242;
    s.version = "0.1.0";
    s.mode = "tracepoint";
    s.attached = {"tp_btf/sys_exit", "tp_btf/sched_process_exec"};
    s.limitations = {{"killOnOpen", "the open succeeds"}};
    s.started_at = "2026-12-01T00:00:00.000000000Z";
    s.policy_dir = "/etc/bulwark/policies.d";
    s.audit_log = "/var/log/bulwark/audit.jsonl";
    s.journal = true;
    s.generation = 17;
    s.loaded_at = "2026-12-01T00:00:01.000000000Z";
    s.rules = {3, 1, 1};
    s.file_entries = 4;
    s.exec_entries = 9;
    s.scope_cgroups = 2;
    PolicyStatus host{"protect", "enforce", std::nullopt, {3, 1, 0}};
    PolicyStatus scoped{"nginx", "audit", std::vector<std::string>{"/sys/fs/cgroup/system.slice/nginx.service"},
                        {0, 0, 1}};
    s.policies = {host, scoped};
    s.events = {10, 11, 1, 2, 3, 4, 5};
    s.kernel.kill_failed = 6;
    s.kernel.walk_truncated = 7;
    s.kernel.bad_state = 8;
    s.kernel.no_policy = 9;
    s.kernel.recursion_misses = {{"bw_lsm_file_open", 12}, {"bw_lsm_bprm_check", 0}};
    s.persistence = {true, "/sys/fs/bpf/bulwark", "", 16};
    s.last_reload = ReloadStatus{false, "2026-12-01T00:00:02.000000000Z", 12.5, 1, 2, 3, 17,
                                 {"a.yaml:1:2: error: x"}, {"w"}};
    return s;
}

}  // namespace

TEST_CASE("a status survives the control socket's JSON unchanged") {
    const DaemonStatus s = sample();
    auto back = status_from_json(nlohmann::json::parse(to_json(s).dump()));
    REQUIRE(back);
    CHECK(to_json(*back) == to_json(s));
    CHECK(back->kernel.recursion_misses.at("bw_lsm_file_open") == 12);
    CHECK(back->kernel.total() == 6 + 7 + 8 + 9 + 12);
    CHECK(back->persistence.adopted_generation == 16u);
    REQUIRE(back->policies.size() == 2);
    CHECK_FALSE(back->policies[0].cgroups.has_value());
    CHECK(back->policies[1].cgroups->at(0) == "/sys/fs/cgroup/system.slice/nginx.service");
    REQUIRE(back->last_reload);
    CHECK(back->last_reload->maps_ms == 3);
    CHECK(back->last_reload->errors.at(0) == "a.yaml:1:2: error: x");
}

TEST_CASE("a status without a key is refused and the key is named") {
    auto j = to_json(sample());
    j["kernel"].erase("kill_failed");
    auto back = status_from_json(j);
    REQUIRE_FALSE(back);
    CHECK(back.error().what.find("kill_failed") != std::string::npos);
    auto k = to_json(sample());
    k["generation"] = "seventeen";
    CHECK_FALSE(status_from_json(k));
}

TEST_CASE("the text status shows every kernel gap, persistence and the mode's limitations") {
    const std::string t = render_status_text(sample());
    CHECK(t.find("mode: tracepoint\n") != std::string::npos);
    CHECK(t.find("limitations of tracepoint mode:\n  killOnOpen: the open succeeds") != std::string::npos);
    CHECK(t.find("6 kills failed, 12 program runs skipped (recursion) (bw_lsm_file_open 12), 7 ancestor walks "
                 "truncated, 8 decisions on an invalid policy state, 9 with no policy") != std::string::npos);
    CHECK(t.find("persistence: pinned in /sys/fs/bpf/bulwark") != std::string::npos);
    CHECK(t.find("took over generation 16") != std::string::npos);
    CHECK(t.find("4 on audit log writes") != std::string::npos);
    CHECK(t.find("last reload: REFUSED") != std::string::npos);
    DaemonStatus unpinned = sample();
    unpinned.persistence = {false, "/sys/fs/bpf/bulwark", "/sys/fs/bpf is not a bpf filesystem", std::nullopt};
    CHECK(render_status_text(unpinned).find("persistence: NONE, enforcement ends with bulwarkd (/sys/fs/bpf is not") !=
          std::string::npos);
}

TEST_CASE("a tampered status says TAMPERED in JSON and text, and survives the round trip") {
    DaemonStatus s = sample();
    CHECK(to_json(s)["integrity"]["state"] == "intact");
    CHECK(render_status_text(s).find("integrity: intact") != std::string::npos);
    s.integrity = {true, "2026-12-01T00:00:03.000000000Z", "bw_state says slot 7", 18, "off"};
    const auto j = to_json(s);
    CHECK(j["integrity"]["state"] == "TAMPERED");
    auto back = status_from_json(nlohmann::json::parse(j.dump()));
    REQUIRE(back);
    CHECK(back->integrity.tampered);
    CHECK(back->integrity.restored_generation == 18u);
    CHECK(render_status_text(*back).find("integrity: TAMPERED: the kernel's bulwark maps or links were changed "
                                         "behind bulwarkd's back (last at 2026-12-01T00:00:03.000000000Z: bw_state "
                                         "says slot 7); restored as generation 18") != std::string::npos);
    auto bad = j;
    bad["integrity"]["state"] = "fine";
    CHECK_FALSE(status_from_json(bad));
}

TEST_CASE("self-protection is named in JSON and text for each of its three states") {
    DaemonStatus s = sample();
    for (const char* state : {"kernel", "off", "unavailable"}) {
        s.integrity.self_protection = state;
        auto back = status_from_json(nlohmann::json::parse(to_json(s).dump()));
        REQUIRE(back);
        CHECK(back->integrity.self_protection == state);
    }
    s.integrity.self_protection = "kernel";
    CHECK(render_status_text(s).find("self-protection: the kernel refuses bpf() on bulwark's objects") !=
          std::string::npos);
    s.integrity.self_protection = "unavailable";
    CHECK(render_status_text(s).find("self-protection: not available in this mode: root can change bulwark's maps") !=
          std::string::npos);
    auto bad = to_json(s);
    bad["integrity"]["self_protection"] = "maybe";
    CHECK_FALSE(status_from_json(bad));
}
