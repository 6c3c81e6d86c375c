// startup.cpp — everything up to "enforcing" (daemon.h lists the steps).
#include <malloc.h>

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "daemon/break_glass.h"
#include "daemon/daemon.h"
#include "daemon/instance_lock.h"
#include "daemon/log.h"
#include "daemon/map_image.h"

namespace bulwark {
namespace {

// The enforcement variants the `mode` setting allows, in the order tried.
std::vector<Variant> candidates(ModeSetting m) {
    switch (m) {
        case ModeSetting::lsm: return {Variant::lsm};
        case ModeSetting::tracepoint: return {Variant::tp_syscall_events, Variant::tp_raw};
        case ModeSetting::automatic: break;
    }
    return {Variant::lsm, Variant::tp_syscall_events, Variant::tp_raw};
}



}  // namespace

std::variant<std::unique_ptr<Daemon>, int> Daemon::start(const DaemonOptions& opts) {
    auto lg = log::get("daemon");
    auto loader_log = log::get("loader");
    std::unique_ptr<Daemon> d(new Daemon());
    d->started_at_ns_ = wall_now_ns();

    // Block the signals we handle before any thread starts: every thread
    // inherits the mask, and run() takes them from a signalfd.
    sigset_t mask = handled_signals();
    if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
        lg->error("block signals failed");
        return kExitRuntime;
    }

    // Break-glass: before anything is loaded, adopted or pinned.
    if (break_glass_this_boot()) {
        lg->critical("{}", break_glass_message());
        sd_notifyf(0, "STATUS=%s", break_glass_message().c_str());
        return kExitDisabled;
    }

    auto cfg = load_config(opts.config_path);
    // StrictModes: settings only root can change (policy.h, check_trusted).
    for (auto& diag : policy::check_trusted(opts.config_path)) cfg.diagnostics.push_back(std::move(diag));
    log_diagnostics(cfg.diagnostics);
    if (!cfg.ok()) {
        lg->error("settings {} are invalid; not starting", opts.config_path);
        return kExitBadConfig;
    }
    d->config_ = cfg.config;
    if (opts.policy_dir) d->config_.policy_dir = *opts.policy_dir;
    if (opts.audit_log) d->config_.audit_log = *opts.audit_log;
    if (opts.control_socket) d->config_.control_socket = *opts.control_socket;

    // One bulwarkd at a time: before touching the socket, the pins or the log.
    auto lock = acquire_instance_lock();
    if (!lock) {
        lg->error("{}; not starting (nothing of the running one was touched)", lock.error().to_string());
        return kExitRunning;
    }
    d->instance_lock_ = std::move(*lock);
    lg->info("settings {}: policyDir {}, auditLog {}, mode {}, pinDir {}", opts.config_path, d->config_.policy_dir,
             d->config_.audit_log, to_string(d->config_.mode), d->config_.pin_dir);

    // Compile first: a bad policy never gets as far as the kernel.  The
    // programs are loaded moments later, against the same kernel BTF.
    const bw_btrfs_layout btrfs = kernel_btrfs_layout();  // the programs get the same (LoadOptions::btrfs)
    d->compile_opts_.btrfs_identity = btrfs.known != 0;
    auto outcome = compile_policy_dir(d->config_.policy_dir, d->compile_opts_);
    log_diagnostics(outcome.diagnostics);
    if (!outcome.compiled) {
        lg->error("policy in {} is invalid; not starting", d->config_.policy_dir);
        return kExitBadConfig;
    }

    auto audit = AuditSink::open(d->config_.audit_log, d->config_.audit_flush, current_boot_id());
    if (!audit) {
        lg->error("{}", audit.error().to_string());
        return kExitRuntime;
    }
    d->audit_ = std::move(*audit);
    if (d->config_.journal)
        d->journal_ = std::make_unique<JournalSink>(std::chrono::milliseconds(d->config_.journal_coalesce_ms));

    auto control = ControlServer::listen(d->config_.control_socket);
    if (!control) {
        lg->error("{}", control.error().to_string());
        return kExitRuntime;
    }
    d->control_ = std::move(*control);

    // What a previous bulwarkd left in force.
    auto pinlog = log::get("pins");
    AdoptedPins adopted;
    if (auto pins = PinDir::open(d->config_.pin_dir)) {
        d->pins_ = std::move(*pins);
        adopted = d->pins_->adopt();
        if (!adopted.refused.empty()) {
            pinlog->error("{}; the pinned enforcement stays in force, and this bulwarkd exits", adopted.refused);
            return kExitRuntime;
        }
    } else {
        d->pins_unavailable_ = pins.error().to_string();
        pinlog->warn("enforcement will end when bulwarkd ends: cannot pin: {}", d->pins_unavailable_);
    }
    if (!adopted.empty()) {
        if (adopted.state && adopted.not_reusable.empty())
            pinlog->info("adopting the enforcement a previous bulwarkd left in {}: generation {} is in force ({} "
                         "links, {} maps)",
                         d->config_.pin_dir, adopted.state->generation, adopted.links.size(), adopted.maps.size());
        else
            pinlog->warn("a previous bulwarkd left {} links in {}; its maps cannot be reused ({}): fresh maps, and "
                         "its programs stay attached until this bulwarkd's are",
                         adopted.links.size(), d->config_.pin_dir, adopted.not_reusable);
    }

    // The mode: the first variant (as the setting allows) that loads, takes
    // generation 1 and attaches.  The feature probe is the real load and
    // attach.  No program of ours runs before its maps hold a complete
    // generation: the maps are written between load and attach.
    LoadOptions lo;
    lo.ring_buffer_bytes = d->config_.ring_buffer_kib * 1024u;
    lo.tracepoint_protect_audit_only = d->config_.tracepoint_protect_audit_only;
    lo.reuse_maps = adopted.reusable_maps();
    lo.btrfs = btrfs;
    std::string lsm_error;
    for (Variant v : candidates(d->config_.mode)) {
        if (auto why = variant_unavailable(v); !why.empty()) {
            loader_log->info("{}: not tried: {}", to_string(v), why);
            continue;
        }
        if (mode_of(v) == EnforcementMode::tracepoint && !lsm_error.empty()) {
            loader_log->warn("BPF LSM enforcement is not available: {}", lsm_error);
            loader_log->warn("falling back to tracepoint mode, which is weaker (see below)");
            lsm_error.clear();
        }
        auto e = load(v, lo);
        Status failed = e ? std::nullopt : Status(e.error());
        if (e && !lo.reuse_maps.empty() && !(*e)->reused_maps())
            pinlog->warn("the pinned maps do not fit this build ({}): fresh maps", (*e)->reuse_refused());
        if (e) {
            // Before any program runs: which process is bulwarkd.
            d->self_spec_ = SelfSpec{d->config_.self_protection && mode_of(v) == EnforcementMode::lsm,
                                     d->pins_ ? d->pins_->path() : std::string()};
            auto self = write_self((*e)->maps().self, d->self_spec_);
            if (!self) {
                loader_log->error("{}", self.error().to_string());
                return kExitRuntime;
            }
            d->self_ = *self;
            // Reused maps: continue from what they hold now (an attempt
            // before this one may have switched them already).
            const PolicyMapFds fds = (*e)->maps();
            const auto in_force = (*e)->reused_maps() ? read_valid_state(fds.state, fds.config) : std::nullopt;
            d->writer_ = std::make_unique<MapWriter>(fds, in_force);
            d->integrity_ = std::make_unique<IntegrityGuard>(fds);
            d->integrity_->expect_self(*self);
            if (in_force && !d->adopted_) {
                d->adopted_ = true;
                d->adopted_generation_ = in_force->generation;
                // Records of the adopted generation (some may wait in the
                // pinned ring buffer) mean what this compile means if its
                // rule table is the same.
                bw_gen_config adopted_cfg{};
                const auto digest = rules_digest(*outcome.compiled);
                if (bpf_map_lookup_elem(fds.config, &in_force->active_slot, &adopted_cfg) == 0 &&
                    std::memcmp(adopted_cfg.rules_digest, digest.data(), digest.size()) == 0) {
                    d->rules_.add(in_force->generation, outcome.compiled);
                    pinlog->info("generation {} has the same rules as the policy now compiled: its records are "
                                 "attributed",
                                 in_force->generation);
                } else {
                    pinlog->warn("generation {} had other rules than the policy now compiled: its records still "
                                 "waiting are logged without policy (counted as unattributed)",
                                 in_force->generation);
                }
            }
            double ms = 0;
            auto gen = d->install(outcome.compiled, ms);
            if (!gen) {
                log::get("maps")->error("{}", gen.error().to_string());
                return kExitRuntime;
            }
            log::get("maps")->info("generation {} in force (slot {}): {} file entries, {} paths, {} exec entries, "
                                   "{} scope cgroups, written in {:.1f} ms",
                                   gen->generation, gen->slot, gen->file_entries, gen->name_entries,
                                   gen->exec_entries, gen->scope_entries, ms);
            failed = (*e)->attach();
            if (!failed) {
                d->enforcer_ = std::move(*e);
                d->variant_ = v;
                d->guard_self_files();
                // Unit cgroups created between the write and the attach of
                // the cgroup_mkdir program (bpf/units.bpf.h).
                if (auto late = d->writer_->bind_late_scopes(
                        [&] { return policy::unit_cgroups_now(*outcome.compiled, d->compile_opts_); }))
                    log::get("maps")->warn("{}", late->to_string());
                break;
            }
        }
        if (mode_of(v) == EnforcementMode::lsm) {
            lsm_error = failed->to_string();
            if (d->config_.mode == ModeSetting::lsm) {
                loader_log->error("BPF LSM enforcement is not available: {}", lsm_error);
                lg->error("mode: lsm requires BPF LSM; nothing is enforced and bulwarkd exits");
                return kExitUnsupported;
            }
        } else {
            loader_log->warn("{} is not available: {}", to_string(v), failed->to_string());
        }
        d->writer_.reset();
        d->integrity_.reset();
    }
    if (!d->enforcer_) {
        if (!lsm_error.empty()) loader_log->warn("BPF LSM enforcement is not available: {}", lsm_error);
        lg->error("nothing can be enforced on this kernel; bulwarkd exits");
        return kExitUnsupported;
    }
    d->mode_ = d->enforcer_->mode();
    {
        std::string hooks;
        for (const auto& h : d->enforcer_->attached()) hooks += (hooks.empty() ? "" : ", ") + h;
        loader_log->info("{} mode: attached {}", to_string(d->mode_), hooks);
        for (const auto& l : d->enforcer_->limitations())
            loader_log->warn("{} mode, {}: {}", to_string(d->mode_), l.rule_kind, l.text);
    }

    // Descriptors opened before this generation, while a previous
    // bulwarkd's links (if any) still hold: no gap for them at a restart.
    d->mark_preexisting(d->writer_->generation());

    // Pin what is now attached over what was; then the old links may go.
    if (d->pins_) {
        if (auto err = d->pins_->pin(*d->enforcer_)) {
            d->pins_unavailable_ = err->to_string();
            pinlog->error("enforcement will end when bulwarkd ends: {}", d->pins_unavailable_);
        } else {
            // From now on a failure of this bulwarkd must not disable them.
            d->enforcer_->keep_links(true);
            pinlog->info("pinned {} links and {} maps in {}: enforcement outlives bulwarkd",
                         d->enforcer_->links().size(), d->enforcer_->pinnable_maps().size(), d->config_.pin_dir);
        }
    }
    d->integrity_->expect_links(d->enforcer_->links());
    if (!adopted.links.empty())
        pinlog->info("released the previous bulwarkd's {} links (this bulwarkd's programs were attached first)",
                     adopted.links.size());
    adopted = AdoptedPins{};

    malloc_trim(0);  // as after a reload
    d->current_ = outcome.compiled;
    d->current_policies_ = outcome.policies;
    d->loaded_at_ns_ = wall_now_ns();

    PipelineOptions po;
    po.mode = d->mode_;
    po.programs = d->enforcer_->programs();
    d->pipeline_ = std::make_unique<EventPipeline>(d->enforcer_->events_fd(), d->enforcer_->maps().counters, po,
                                                   *d->audit_, d->journal_.get(), d->rules_);
    if (auto err = d->pipeline_->start()) {
        log::get("events")->error("{}", err->to_string());
        return kExitRuntime;
    }

    const RuleCounts counts = rule_counts(*outcome.compiled);
    lg->info("enforcing in {} mode: {} protectedFiles, {} killOnOpen, {} execAllowlist rules ({} policies); "
             "audit log {}",
             to_string(d->mode_), counts.protected_files, counts.kill_on_open, counts.exec_allowlist, outcome.policies, d->config_.audit_log);
    return d;
}

}  // namespace bulwark
