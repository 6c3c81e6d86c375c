#include "daemon/daemon.h"

#include <malloc.h>

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include <systemd/sd-daemon.h>

#include "daemon/log.h"

namespace bulwark {
namespace {

void log_diagnostics(const std::vector<policy::Diagnostic>& diags) {
    auto lg = log::get("policy");
    for (const auto& d : diags) {
        if (d.severity == policy::Severity::error)
            lg->error("{}", d.to_string());
        else
            lg->warn("{}", d.to_string());
    }
}

sigset_t handled_signals() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&mask, s);
    return mask;
}

int64_t wall_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* rule_key(policy::RuleKind k) {
    switch (k) {
        case policy::RuleKind::protect_write:
        case policy::RuleKind::protect_all: return "protectedFiles";
        case policy::RuleKind::kill_on_open: return "killOnOpen";
        case policy::RuleKind::exec_allowlist: return "execAllowlist";
    }
    return "?";
}

nlohmann::json rule_counts(const policy::CompiledPolicy& c) {
    nlohmann::json j = {{"protectedFiles", 0}, {"killOnOpen", 0}, {"execAllowlist", 0}};
    for (const auto& r : c.rules) j[rule_key(r.kind)] = j[rule_key(r.kind)].get<int>() + 1;
    return j;
}

// MapWriter::apply, its duration in `ms`.
Result<GenerationInfo> timed_apply(MapWriter& w, const policy::CompiledPolicy& p, double& ms) {
    const auto t = std::chrono::steady_clock::now();
    auto gen = w.apply(p);
    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    return gen;
}

}  // namespace

CompileOutcome compile_policy_dir(const std::string& dir) {
    CompileOutcome out;
    const auto ms_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    };
    auto t = std::chrono::steady_clock::now();
    auto parsed = policy::parse_policy_paths({dir});
    out.parse_ms = ms_since(t);
    out.diagnostics = parsed.diagnostics;
    out.policies = parsed.policies.size();
    if (!parsed.ok()) return out;
    t = std::chrono::steady_clock::now();
    auto compiled = std::make_shared<policy::CompiledPolicy>(policy::compile(parsed.policies));
    out.compile_ms = ms_since(t);
    out.diagnostics.insert(out.diagnostics.end(), compiled->diagnostics.begin(), compiled->diagnostics.end());
    if (compiled->ok()) out.compiled = std::move(compiled);
    return out;
}

std::variant<std::unique_ptr<Daemon>, int> Daemon::start(const DaemonOptions& opts) {
    auto lg = log::get("daemon");
    std::unique_ptr<Daemon> d(new Daemon());
    d->started_at_ns_ = wall_now_ns();

    // Block the signals we handle before any thread starts: every thread
    // inherits the mask, and run() takes them from a signalfd.
    sigset_t mask = handled_signals();
    if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
        lg->error("block signals failed");
        return kExitRuntime;
    }

    auto cfg = load_config(opts.config_path);
    log_diagnostics(cfg.diagnostics);
    if (!cfg.ok()) {
        lg->error("settings {} are invalid; not starting", opts.config_path);
        return kExitBadConfig;
    }
    d->config_ = cfg.config;
    if (opts.policy_dir) d->config_.policy_dir = *opts.policy_dir;
    if (opts.audit_log) d->config_.audit_log = *opts.audit_log;
    if (opts.control_socket) d->config_.control_socket = *opts.control_socket;
    lg->info("settings {}: policyDir {}, auditLog {}, mode {}", opts.config_path, d->config_.policy_dir,
             d->config_.audit_log, to_string(d->config_.mode));

    // Compile first: a bad policy never gets as far as the kernel.
    auto outcome = compile_policy_dir(d->config_.policy_dir);
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

    // The feature probe is the real load and attach: LSM first (unless
    // tracepoint mode is forced), tracepoints when LSM is not available and
    // the settings allow it.
    LoadOptions lo;
    lo.ring_buffer_bytes = d->config_.ring_buffer_kib * 1024u;
    lo.tracepoint_protect_audit_only = d->config_.tracepoint_protect_audit_only;
    auto loader_log = log::get("loader");
    if (d->config_.mode != ModeSetting::tracepoint) {
        auto lsm = load_lsm(lo);
        if (lsm) {
            d->enforcer_ = std::move(*lsm);
        } else if (d->config_.mode == ModeSetting::lsm) {
            loader_log->error("BPF LSM enforcement is not available: {}", lsm.error().to_string());
            lg->error("mode: lsm requires BPF LSM; nothing is enforced and bulwarkd exits");
            return kExitUnsupported;
        } else {
            loader_log->warn("BPF LSM enforcement is not available: {}", lsm.error().to_string());
            loader_log->warn("falling back to tracepoint mode, which is weaker (see below)");
        }
    }
    if (!d->enforcer_) {
        auto tp = load_tracepoint(lo);
        if (!tp) {
            loader_log->error("tracepoint enforcement is not available either: {}", tp.error().to_string());
            lg->error("nothing can be enforced on this kernel; bulwarkd exits");
            return kExitUnsupported;
        }
        d->enforcer_ = std::move(*tp);
    }
    d->mode_ = d->enforcer_->mode();
    {
        std::string hooks;
        for (const auto& h : d->enforcer_->attached()) hooks += (hooks.empty() ? "" : ", ") + h;
        loader_log->info("{} mode: attached {}", to_string(d->mode_), hooks);
        for (const auto& l : d->enforcer_->limitations())
            loader_log->warn("tracepoint mode, {}: {}", l.rule_kind, l.text);
    }

    d->writer_ = std::make_unique<MapWriter>(d->enforcer_->maps());
    double ms = 0;
    auto gen = timed_apply(*d->writer_, *outcome.compiled, ms);
    if (!gen) {
        log::get("maps")->error("{}", gen.error().to_string());
        return kExitRuntime;
    }
    d->rules_.add(gen->generation, outcome.compiled);
    malloc_trim(0);  // as after a reload
    d->current_ = outcome.compiled;
    d->current_info_ = *gen;
    d->current_policies_ = outcome.policies;
    d->loaded_at_ns_ = wall_now_ns();
    log::get("maps")->info("generation {} in force (slot {}): {} file entries, {} exec entries, {} scope cgroups, "
                           "written in {:.1f} ms",
                           gen->generation, gen->slot, gen->file_entries, gen->exec_entries, gen->scope_entries, ms);

    PipelineOptions po;
    po.mode = d->mode_;
    d->pipeline_ = std::make_unique<EventPipeline>(d->enforcer_->events_fd(), d->enforcer_->maps().counters, po,
                                                   *d->audit_, d->journal_.get(), d->rules_);
    if (auto err = d->pipeline_->start()) {
        log::get("events")->error("{}", err->to_string());
        return kExitRuntime;
    }

    const auto counts = rule_counts(*outcome.compiled);
    lg->info("enforcing in {} mode: {} protectedFiles, {} killOnOpen, {} execAllowlist rules ({} policies); "
             "audit log {}",
             to_string(d->mode_), counts["protectedFiles"].get<int>(), counts["killOnOpen"].get<int>(),
             counts["execAllowlist"].get<int>(), outcome.policies, d->config_.audit_log);
    return d;
}

Daemon::~Daemon() {
    if (pipeline_) pipeline_->stop();
}

ReloadResult Daemon::reload() {
    auto lg = log::get("policy");
    ReloadResult r;
    r.wall_ns = wall_now_ns();
    const auto t0 = std::chrono::steady_clock::now();
    auto outcome = compile_policy_dir(config_.policy_dir);
    r.parse_ms = outcome.parse_ms;
    r.compile_ms = outcome.compile_ms;
    log_diagnostics(outcome.diagnostics);
    for (const auto& d : outcome.diagnostics)
        (d.severity == policy::Severity::error ? r.errors : r.warnings).push_back(d.to_string());
    if (!outcome.compiled) {
        r.generation = writer_->generation();
        lg->error("reload refused: the policy in {} is invalid; generation {} stays in force", config_.policy_dir,
                  r.generation);
    } else if (auto gen = timed_apply(*writer_, *outcome.compiled, r.maps_ms); !gen) {
        r.errors.push_back(gen.error().to_string());
        r.generation = writer_->generation();
        log::get("maps")->error("reload failed: {}; generation {} stays in force", gen.error().to_string(),
                                r.generation);
    } else {
        rules_.add(gen->generation, outcome.compiled);
        current_ = outcome.compiled;
        current_info_ = *gen;
        current_policies_ = outcome.policies;
        loaded_at_ns_ = wall_now_ns();
        r.ok = true;
        r.generation = gen->generation;
    }
    r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // Compiling a large policy frees hundreds of MB of parse trees; give
    // them back to the system instead of keeping them as free heap.
    malloc_trim(0);
    if (r.ok)
        lg->info("reloaded: generation {} in force ({} file entries, {} exec entries) in {:.1f} ms "
                 "(parse {:.1f}, compile {:.1f}, maps {:.1f})",
                 r.generation, current_info_.file_entries, current_info_.exec_entries, r.duration_ms, r.parse_ms,
                 r.compile_ms, r.maps_ms);
    last_reload_ = r;
    return r;
}

void Daemon::notify_status() const {
    const auto counts = rule_counts(*current_);
    sd_notifyf(0, "STATUS=enforcing in %s mode%s, policy generation %u: %d protectedFiles, %d killOnOpen, "
                  "%d execAllowlist rules",
               to_string(mode_),
               mode_ == EnforcementMode::tracepoint ? " (weaker: kills after the fact, see bulwarkctl status)" : "",
               writer_->generation(), counts["protectedFiles"].get<int>(),
               counts["killOnOpen"].get<int>(), counts["execAllowlist"].get<int>());
}

nlohmann::json Daemon::status() const {
    nlohmann::json j;
    j["ok"] = true;
    j["running"] = true;
    j["pid"] = getpid();
    j["version"] = BULWARK_VERSION;
    j["mode"] = to_string(mode_);
    j["attached"] = enforcer_->attached();
    j["limitations"] = nlohmann::json::object();
    for (const auto& l : enforcer_->limitations()) j["limitations"][l.rule_kind] = l.text;
    j["started_at"] = format_wall_time(started_at_ns_);
    j["policy_dir"] = config_.policy_dir;
    j["audit_log"] = config_.audit_log;
    j["journal"] = config_.journal;
    j["generation"] = writer_->generation();
    j["loaded_at"] = format_wall_time(loaded_at_ns_);
    j["rules"] = rule_counts(*current_);
    j["map_entries"] = {{"files", current_info_.file_entries},
                        {"exec", current_info_.exec_entries},
                        {"scope_cgroups", current_info_.scope_entries}};
    // Per policy: mode, scope and rule counts.
    std::map<std::string, nlohmann::json> per;
    for (const auto& r : current_->rules) {
        auto& p = per[r.policy];
        if (p.is_null()) {
            p = {{"name", r.policy},
                 {"mode", std::string(policy::to_string(r.mode))},
                 {"rules", {{"protectedFiles", 0}, {"killOnOpen", 0}, {"execAllowlist", 0}}}};
            if (r.scope == 0) {
                p["scope"] = "whole host";
            } else {
                nlohmann::json cgs = nlohmann::json::array();
                for (const auto& s : current_->scopes)
                    if (s.bit == r.scope) cgs = s.cgroup_paths;
                p["scope"] = {{"cgroups", cgs}};
            }
        }
        p["rules"][rule_key(r.kind)] = p["rules"][rule_key(r.kind)].get<int>() + 1;
    }
    j["policies"] = nlohmann::json::array();
    for (auto& [name, p] : per) j["policies"].push_back(p);
    const auto st = pipeline_->stats();
    j["events"] = {{"delivered", st.delivered},
                   {"verdicts", st.verdicts},
                   {"lost_kernel", st.kernel_lost},
                   {"lost_queue", st.queue_dropped},
                   {"malformed", st.malformed},
                   {"lost_write", st.write_failed}};
    if (last_reload_) {
        const auto& r = *last_reload_;
        j["last_reload"] = {{"ok", r.ok},         {"time", format_wall_time(r.wall_ns)},
                            {"duration_ms", r.duration_ms},
                {"phases_ms", {{"parse", r.parse_ms}, {"compile", r.compile_ms}, {"maps", r.maps_ms}}}, {"generation", r.generation},
                            {"phases_ms", {{"parse", r.parse_ms}, {"compile", r.compile_ms}, {"maps", r.maps_ms}}},
                            {"errors", r.errors}, {"warnings", r.warnings}};
    } else {
        j["last_reload"] = nullptr;
    }
    return j;
}

nlohmann::json Daemon::handle(const nlohmann::json& request) {
    const std::string cmd = request["cmd"].get<std::string>();
    if (cmd == "status") return status();
    if (cmd == "reload") {
        log::get("daemon")->info("reload requested over the control socket");
        sd_notify(0, "RELOADING=1");
        ReloadResult r = reload();
        notify_status();
        sd_notify(0, "READY=1");
        return {{"ok", r.ok},
                {"generation", r.generation},
                {"duration_ms", r.duration_ms},
                {"phases_ms", {{"parse", r.parse_ms}, {"compile", r.compile_ms}, {"maps", r.maps_ms}}},
                {"errors", r.errors},
                {"warnings", r.warnings}};
    }
    return {{"ok", false}, {"error", "unknown command \"" + cmd + "\"; expected status or reload"}};
}

int Daemon::run() {
    auto lg = log::get("daemon");
    sigset_t mask = handled_signals();
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int efd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || efd < 0) {
        lg->error("{}", errno_error("create signalfd/epoll").to_string());
        return kExitRuntime;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = 1;
    epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &e);
    e.data.u32 = 2;
    epoll_ctl(efd, EPOLL_CTL_ADD, control_->fd(), &e);

    notify_status();
    sd_notify(0, "READY=1");
    lg->info("ready; control socket {}", config_.control_socket);

    int rc = kExitOk;
    bool running = true;
    while (running) {
        epoll_event evs[4];
        int n = epoll_wait(efd, evs, 4, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            lg->error("{}", errno_error("epoll_wait").to_string());
            rc = kExitRuntime;
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.u32 == 2) {
                control_->serve_one([this](const nlohmann::json& req) { return handle(req); });
                continue;
            }
            signalfd_siginfo si{};
            while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                    case SIGHUP:
                        lg->info("SIGHUP: reloading policy from {}", config_.policy_dir);
                        sd_notify(0, "RELOADING=1");
                        reload();
                        notify_status();
                        sd_notify(0, "READY=1");
                        break;
                    case SIGUSR1:
                        pipeline_->request_reopen();
                        break;
                    default:
                        lg->info("{}: stopping", strsignal(static_cast<int>(si.ssi_signo)));
                        running = false;
                        break;
                }
            }
        }
    }
    sd_notify(0, "STOPPING=1");
    // Deliver everything the kernel already reported before detaching.
    pipeline_->stop();
    const auto st = pipeline_->stats();
    lg->info("delivered {} events; lost {} in the kernel, {} in the queue, {} on audit log writes; {} malformed",
             st.delivered, st.kernel_lost, st.queue_dropped, st.write_failed, st.malformed);
    close(efd);
    close(sfd);
    return rc;
}

}  // namespace bulwark
