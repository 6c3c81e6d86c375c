// reload.cpp — the reload transaction: compile, register the new
// generation's rule table, build its map image, write and switch (the map
// writer's steps), and the timings of each phase.
#include <malloc.h>

#include <chrono>

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/map_image.h"
#include "daemon/preexisting.h"

namespace bulwark {
namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void log_diagnostics(const std::vector<policy::Diagnostic>& diags) {
    auto lg = log::get("policy");
    for (const auto& d : diags) {
        if (d.severity == policy::Severity::error)
            lg->error("{}", d.to_string());
        else
            lg->warn("{}", d.to_string());
    }
}

CompileOutcome compile_policy_dir(const std::string& dir, const policy::CompileOptions& opts) {
    CompileOutcome out;
    auto t = std::chrono::steady_clock::now();
    auto parsed = policy::parse_policy_paths({dir}, /*trusted_only=*/true);
    out.parse_ms = ms_since(t);
    out.diagnostics = parsed.diagnostics;
    out.policies = parsed.policies.size();
    if (!parsed.ok()) return out;
    t = std::chrono::steady_clock::now();
    auto compiled = std::make_shared<policy::CompiledPolicy>(policy::compile(parsed.policies, opts));
    out.compile_ms = ms_since(t);
    out.diagnostics.insert(out.diagnostics.end(), compiled->diagnostics.begin(), compiled->diagnostics.end());
    if (compiled->ok()) out.compiled = std::move(compiled);
    return out;
}

Result<GenerationInfo> Daemon::install(const std::shared_ptr<const policy::CompiledPolicy>& compiled, double& ms) {
    const auto t = std::chrono::steady_clock::now();
    const uint32_t gen = writer_->next_generation();
    auto image = build_map_image(*compiled, gen);
    if (!image) return image.error();
    // Registered before the switch: the first record of `gen` finds it.
    rules_.add(gen, compiled);
    auto info = writer_->write(*image, [&] { return policy::unit_cgroups_now(*compiled, compile_opts_); });
    ms = ms_since(t);
    if (!info) {
        rules_.remove(gen);
        return info;
    }
    if (!info->warning.empty()) log::get("maps")->warn("generation {} is in force, but {}", gen, info->warning);
    if (integrity_) integrity_->expect_generation(*image, info->slot, writer_->active_inner_maps());
    // The switch was fenced: older generations' records are all in the ring
    // buffer by now; their tables go once the consumer has read it.
    rules_.retire_below_after_drain(gen);
    current_info_ = *info;
    return info;
}

void Daemon::guard_self_files() {
    if (!enforcer_ || enforcer_->mode() != EnforcementMode::lsm) return;
    auto files = collect_self_files(config_.trusted_installers, self_spec_.protect);
    auto same = [](const std::vector<SelfFile>& a, const std::vector<SelfFile>& b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i].key.dev != b[i].key.dev || a[i].key.ino != b[i].key.ino || a[i].flags != b[i].flags)
                return false;
        return true;
    };
    if (same(files, self_files_)) return;
    auto lg = log::get("self");
    if (auto err = write_self_files(enforcer_->maps().self_files, files)) {
        lg->error("bulwark's own files are not guarded: {}", err->to_string());
        return;
    }
    std::string list, installers;
    for (const auto& f : files) list += (list.empty() ? "" : ", ") + f.path + " (" + f.what + ")";
    for (const auto& p : config_.trusted_installers) installers += (installers.empty() ? "" : ", ") + p;
    if (installers.empty()) installers = "no trusted installer (trustedInstallers is empty)";
    if (self_spec_.protect)
        lg->info("{} {} of bulwark's own files: only bulwarkd and {} may change them: {}",
                 self_files_.empty() ? "guarding" : "re-bound after a change at their paths:", files.size(),
                 installers, list);
    else
        lg->info("trusted installers (their upgrades of allowlisted programs keep them trusted): {}", list);
    self_files_ = std::move(files);
}

void Daemon::verify_integrity() {
    guard_self_files();
    if (!integrity_) return;
    const auto problems = integrity_->check();
    if (problems.empty()) return;
    std::string detail;
    for (const auto& p : problems) detail += (detail.empty() ? "" : "; ") + p;
    auto lg = log::get("integrity");
    lg->critical("TAMPERED: the kernel no longer holds what bulwarkd wrote: {}; restoring", detail);
    if (journal_)
        journal_->notice(message_id::kTampered, 2,
                         "bulwark's kernel state was changed behind bulwarkd's back: " + detail + "; restoring",
                         {"BULWARK_TAMPERED=" + detail});
    integrity_status_.tampered = true;
    integrity_status_.detected_at = format_wall_time(wall_now_ns());
    integrity_status_.detail = detail;
    if (auto self = write_self(enforcer_->maps().self, self_spec_)) {
        self_ = *self;
        integrity_->expect_self(*self);
    }
    double ms = 0;
    auto gen = install(current_, ms);
    if (!gen) {
        lg->critical("restoring failed: {}", gen.error().to_string());
        return;
    }
    integrity_status_.restored_generation = gen->generation;
    lg->critical("restored: generation {} in force ({:.1f} ms)", gen->generation, ms);
    mark_preexisting(gen->generation);
    notify_status();
}

void Daemon::mark_preexisting(uint32_t generation) {
    auto lg = log::get("preexisting");
    const auto t = std::chrono::steady_clock::now();
    auto out = bulwark::mark_preexisting(*enforcer_);
    if (!out) {
        lg->error("generation {}: descriptors opened before it could not be looked for: {}; they keep the access "
                  "they had",
                  generation, out.error().to_string());
        return;
    }
    if (mode_ == EnforcementMode::tracepoint) {
        lg->info("generation {}: descriptors opened before it are reported (audit kind preexisting), not enforced: "
                 "tracepoint mode sees no read or write ({:.1f} ms)",
                 generation, ms_since(t));
        return;
    }
    if (out->to_mark == 0) {
        lg->info("generation {}: no descriptor opened before it needs checking ({:.1f} ms)", generation, ms_since(t));
        return;
    }
    lg->info("generation {}: {} descriptors opened before it are on files its enforcing rules cover: {} now checked "
             "at every read, write and map, {} already closed ({:.1f} ms)",
             generation, out->to_mark, out->marked, out->gone, ms_since(t));
    if (out->attached_checks) {
        lg->info("attached lsm/file_permission: reads and writes are checked for marked files from now on");
        if (pins_ && pins_unavailable_.empty())
            if (auto err = pins_->pin(*enforcer_)) log::get("pins")->error("{}", err->to_string());
        if (integrity_) integrity_->expect_links(enforcer_->links());
    }
    if (out->failed)
        lg->error("generation {}: {} descriptors opened before it could not be taken and keep the access they had "
                  "(first: {})",
                  generation, out->failed, out->first_failure);
}

ReloadResult Daemon::notified_reload() {
    sd_notify(0, "RELOADING=1");
    ReloadResult r = reload();
    notify_status();
    sd_notify(0, "READY=1");
    return r;
}

nlohmann::json reload_answer(const ReloadResult& r) {
    return {{"ok", r.ok},
            {"generation", r.generation},
            {"duration_ms", r.duration_ms},
            {"phases_ms", {{"parse", r.parse_ms}, {"compile", r.compile_ms}, {"maps", r.maps_ms}}},
            {"errors", r.errors},
            {"warnings", r.warnings}};
}

ReloadResult Daemon::reload() {
    auto lg = log::get("policy");
    guard_self_files();  // an admin's new unit drop-in, a library an upgrade replaced
    ReloadResult r;
    r.wall_ns = wall_now_ns();
    const auto t0 = std::chrono::steady_clock::now();
    auto outcome = compile_policy_dir(config_.policy_dir, compile_opts_);
    r.parse_ms = outcome.parse_ms;
    r.compile_ms = outcome.compile_ms;
    log_diagnostics(outcome.diagnostics);
    for (const auto& d : outcome.diagnostics)
        (d.severity == policy::Severity::error ? r.errors : r.warnings).push_back(d.to_string());
    if (!outcome.compiled) {
        r.generation = writer_->generation();
        lg->error("reload refused: the policy in {} is invalid; generation {} stays in force", config_.policy_dir,
                  r.generation);
    } else if (auto gen = install(outcome.compiled, r.maps_ms); !gen) {
        r.errors.push_back(gen.error().to_string());
        r.generation = writer_->generation();
        log::get("maps")->error("reload failed: {}; generation {} stays in force", gen.error().to_string(),
                                r.generation);
    } else {
        current_ = outcome.compiled;
        current_policies_ = outcome.policies;
        loaded_at_ns_ = wall_now_ns();
        r.ok = true;
        r.generation = gen->generation;
        mark_preexisting(gen->generation);
    }
    r.duration_ms = ms_since(t0);
    // Compiling a large policy frees hundreds of MB of parse trees; give
    // them back to the system instead of keeping them as free heap.
    malloc_trim(0);
    if (r.ok)
        lg->info("reloaded: generation {} in force ({} file entries, {} paths, {} exec entries) in {:.1f} ms "
                 "(parse {:.1f}, compile {:.1f}, maps {:.1f})",
                 r.generation, current_info_.file_entries, current_info_.name_entries, current_info_.exec_entries,
                 r.duration_ms, r.parse_ms,
                 r.compile_ms, r.maps_ms);
    last_reload_ = r;
    return r;
}

}  // namespace bulwark
