// status.cpp — what `bulwarkctl status` shows, built as a DaemonStatus
// (daemon/status_model.h).
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "daemon/daemon.h"
#include "daemon/status_model.h"

namespace bulwark {
namespace {

void count(RuleCounts& c, policy::RuleKind k) {
    switch (k) {
        case policy::RuleKind::protect_write:
        case policy::RuleKind::protect_all: ++c.protected_files; break;
        case policy::RuleKind::kill_on_open: ++c.kill_on_open; break;
        case policy::RuleKind::exec_allowlist: ++c.exec_allowlist; break;
    }
}

}  // namespace

RuleCounts rule_counts(const policy::CompiledPolicy& compiled) {
    RuleCounts c;
    for (const auto& r : compiled.rules) count(c, r.kind);
    return c;
}

nlohmann::json Daemon::status() const {
    DaemonStatus s;
    s.pid = getpid();
    s.version = BULWARK_VERSION;
    s.mode = to_string(mode_);
    s.attached = enforcer_->attached();
    for (const auto& l : enforcer_->limitations()) s.limitations[l.rule_kind] = l.text;
    s.started_at = format_wall_time(started_at_ns_);
    s.policy_dir = config_.policy_dir;
    s.audit_log = config_.audit_log;
    s.journal = config_.journal;
    s.generation = writer_->generation();
    s.loaded_at = format_wall_time(loaded_at_ns_);
    s.rules = rule_counts(*current_);
    s.file_entries = current_info_.file_entries;
    s.exec_entries = current_info_.exec_entries;
    s.scope_cgroups = current_info_.scope_entries;
    // Per policy: mode, scope and rule counts.
    std::map<std::string, PolicyStatus> per;
    for (const auto& r : current_->rules) {
        auto [it, fresh] = per.try_emplace(r.policy);
        PolicyStatus& p = it->second;
        if (fresh) {
            p.name = r.policy;
            p.mode = std::string(policy::to_string(r.mode));
            if (r.scope != 0) {
                p.cgroups.emplace();
                for (const auto& sc : current_->scopes)
                    if (sc.bit == r.scope) p.cgroups = sc.cgroup_paths;
            }
        }
        count(p.rules, r.kind);
    }
    for (auto& [name, p] : per) s.policies.push_back(std::move(p));
    const auto st = pipeline_->stats();
    s.events = {st.delivered, st.verdicts, st.kernel_lost, st.queue_dropped, st.malformed, st.write_failed,
                st.unattributed};
    s.kernel.kill_failed = st.kernel.kill_failed;
    s.kernel.walk_truncated = st.kernel.walk_truncated;
    s.kernel.bad_state = st.kernel.bad_state;
    s.kernel.no_policy = st.kernel.no_policy;
    s.kernel.scope_bind_failed = st.kernel.scope_bind_failed;
    s.kernel.recursion_misses = st.kernel.recursion_misses;
    s.persistence.pinned = pins_.has_value() && pins_unavailable_.empty();
    s.persistence.pin_dir = config_.pin_dir;
    s.persistence.unavailable = pins_unavailable_;
    if (adopted_) s.persistence.adopted_generation = adopted_generation_;
    s.integrity = integrity_status_;
    s.integrity.self_protection = self_spec_.protect                               ? "kernel"
                                  : mode_of(variant_) == EnforcementMode::lsm ? "off"
                                                                               : "unavailable";
    if (last_reload_) {
        const auto& r = *last_reload_;
        s.last_reload = ReloadStatus{r.ok,         format_wall_time(r.wall_ns), r.duration_ms, r.parse_ms,
                                     r.compile_ms, r.maps_ms,                   r.generation,  r.errors,
                                     r.warnings};
    }
    if (trial_)
        s.trial = TrialStatus{trial_->generation, trial_->fallback_generation, format_wall_time(trial_->deadline_ns)};
    return to_json(s);
}

namespace {

std::string identity_text(const policy::FileIdentity& id) {
    return policy::format_kernel_dev(id.dev) + ":" + std::to_string(id.ino);
}

// What a file rule's binding means now, given what is at its path.
std::string binding_state(const policy::CompiledRule& r, const std::optional<policy::FileIdentity>& now) {
    if (!r.not_enforced_reason.empty()) return "NOT enforced (" + r.not_enforced_reason + ")";
    if (r.shadowed_by) return "shadowed by rule " + std::to_string(*r.shadowed_by);
    if (r.identity && now && *now == *r.identity) return "the file it was loaded with";
    if (r.identity && now)
        return r.bound_to_path() ? "replaced since the load: the file now there is covered by its path; its identity "
                                   "is bound at the next reload (the old inode keeps the rule too)"
                                 : "replaced since the load: NOT covered until the next reload";
    if (r.identity)
        return "gone from its path since the load: the old inode keeps the rule" +
               std::string(r.bound_to_path() ? "; a file that appears at the path takes it" : "");
    if (r.bound_to_path())
        return now ? "appeared since the load: covered by its path" : "not there yet: bound to its path";
    return "not found: resolved again at the next reload";
}

}  // namespace

nlohmann::json Daemon::bindings() const {
    BindingsStatus b;
    b.generation = writer_->generation();
    b.bound_at = format_wall_time(loaded_at_ns_);
    for (const auto& r : current_->rules) {
        if (r.kind == policy::RuleKind::exec_allowlist) continue;
        std::optional<policy::FileIdentity> now;
        struct stat st {};
        if (::stat(r.path.c_str(), &st) == 0)
            now = policy::FileIdentity{policy::kernel_dev_from_st_dev(static_cast<uint64_t>(st.st_dev)),
                                       static_cast<uint64_t>(st.st_ino)};
        b.rules.push_back({r.id, r.policy, std::string(policy::to_string(r.kind)), r.path,
                           r.identity ? r.resolved_path : std::string(), r.identity ? identity_text(*r.identity) : "",
                           now ? identity_text(*now) : "", r.directory, r.bound_to_path(), binding_state(r, now)});
    }
    for (const auto& sc : current_->scopes)
        b.scopes.push_back({sc.policy, sc.units, sc.cgroups, sc.cgroup_paths, sc.unresolved});
    return to_json(b);
}

}  // namespace bulwark
