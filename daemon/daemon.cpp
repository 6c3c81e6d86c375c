#include "daemon/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>

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

size_t count_kind(const policy::CompiledPolicy& c, policy::RuleKind k) {
    size_t n = 0;
    for (const auto& r : c.rules) n += r.kind == k;
    return n;
}

}  // namespace

std::variant<std::unique_ptr<Daemon>, int> Daemon::start(const DaemonOptions& opts) {
    auto lg = log::get("daemon");
    std::unique_ptr<Daemon> d(new Daemon());

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
    lg->info("settings {}: policyDir {}, auditLog {}, mode {}", opts.config_path, d->config_.policy_dir,
             d->config_.audit_log, to_string(d->config_.mode));

    if (d->config_.mode == ModeSetting::tracepoint) {
        lg->error("mode tracepoint is not available in this version of bulwarkd; not starting");
        return kExitUnsupported;
    }

    // Compile first: a bad policy never gets as far as the kernel.
    auto parsed = policy::parse_policy_paths({d->config_.policy_dir});
    log_diagnostics(parsed.diagnostics);
    if (!parsed.ok()) {
        lg->error("policy in {} is invalid; not starting", d->config_.policy_dir);
        return kExitBadConfig;
    }
    auto compiled = std::make_shared<policy::CompiledPolicy>(policy::compile(parsed.policies));
    log_diagnostics(compiled->diagnostics);
    if (!compiled->ok()) {
        lg->error("policy in {} does not compile; not starting", d->config_.policy_dir);
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

    // The feature probe is the real load and attach.
    LoadOptions lo;
    lo.ring_buffer_bytes = d->config_.ring_buffer_kib * 1024u;
    auto progs = LsmPrograms::load(lo);
    if (!progs) {
        log::get("loader")->error("BPF LSM enforcement is not available: {}", progs.error().to_string());
        lg->error("nothing is enforced; bulwarkd exits (tracepoint mode is not available in this version)");
        return kExitUnsupported;
    }
    d->programs_ = std::move(*progs);
    d->mode_ = EnforcementMode::lsm;
    log::get("loader")->info("attached lsm/file_open and lsm/bprm_check_security");

    d->writer_ = std::make_unique<MapWriter>(d->programs_->maps());
    auto t0 = std::chrono::steady_clock::now();
    auto gen = d->writer_->apply(*compiled);
    if (!gen) {
        log::get("maps")->error("{}", gen.error().to_string());
        return kExitRuntime;
    }
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    d->rules_.add(gen->generation, compiled);
    log::get("maps")->info("generation {} in force (slot {}): {} file entries, {} exec entries, {} scope cgroups, "
                           "written in {:.1f} ms",
                           gen->generation, gen->slot, gen->file_entries, gen->exec_entries, gen->scope_entries, ms);

    PipelineOptions po;
    po.mode = d->mode_;
    d->pipeline_ = std::make_unique<EventPipeline>(d->programs_->events_fd(), d->programs_->maps().counters, po,
                                                   *d->audit_, d->journal_.get(), d->rules_);
    if (auto err = d->pipeline_->start()) {
        log::get("events")->error("{}", err->to_string());
        return kExitRuntime;
    }

    lg->info("enforcing in {} mode: {} protected, {} kill-on-open, {} exec allowlists ({} policies); audit log {}",
             to_string(d->mode_),
             count_kind(*compiled, policy::RuleKind::protect_all) +
                 count_kind(*compiled, policy::RuleKind::protect_write),
             count_kind(*compiled, policy::RuleKind::kill_on_open),
             count_kind(*compiled, policy::RuleKind::exec_allowlist), parsed.policies.size(),
             d->config_.audit_log);
    return d;
}

Daemon::~Daemon() {
    if (pipeline_) pipeline_->stop();
}

Status Daemon::load_policy() {
    auto lg = log::get("policy");
    auto t0 = std::chrono::steady_clock::now();
    auto parsed = policy::parse_policy_paths({config_.policy_dir});
    log_diagnostics(parsed.diagnostics);
    if (!parsed.ok()) return Error{"policy in " + config_.policy_dir + " is invalid; the previous policy stays in force"};
    auto compiled = std::make_shared<policy::CompiledPolicy>(policy::compile(parsed.policies));
    log_diagnostics(compiled->diagnostics);
    if (!compiled->ok())
        return Error{"policy in " + config_.policy_dir + " does not compile; the previous policy stays in force"};
    auto gen = writer_->apply(*compiled);
    if (!gen) return Error{gen.error().to_string() + "; the previous policy stays in force", gen.error().err};
    rules_.add(gen->generation, compiled);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    lg->info("reloaded: generation {} in force ({} file entries, {} exec entries) in {:.1f} ms", gen->generation,
             gen->file_entries, gen->exec_entries, ms);
    return std::nullopt;
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

    sd_notifyf(0, "READY=1\nSTATUS=enforcing in %s mode, policy generation %u", to_string(mode_),
               writer_->generation());
    lg->info("ready");

    int rc = kExitOk;
    bool running = true;
    while (running) {
        epoll_event evs[4];
        int n = epoll_wait(efd, evs, 4, 1000);
        if (n < 0) {
            if (errno == EINTR) continue;
            lg->error("{}", errno_error("epoll_wait").to_string());
            rc = kExitRuntime;
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.u32 != 1) continue;
            signalfd_siginfo si{};
            while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                    case SIGHUP: {
                        lg->info("SIGHUP: reloading policy from {}", config_.policy_dir);
                        sd_notify(0, "RELOADING=1");
                        if (auto err = load_policy()) log::get("policy")->error("{}", err->to_string());
                        sd_notifyf(0, "READY=1\nSTATUS=enforcing in %s mode, policy generation %u",
                                   to_string(mode_), writer_->generation());
                        break;
                    }
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
    lg->info("delivered {} events; lost {} in the kernel, {} in the queue; {} malformed", st.delivered,
             st.kernel_lost, st.queue_dropped, st.malformed);
    close(efd);
    close(sfd);
    return rc;
}

}  // namespace bulwark
