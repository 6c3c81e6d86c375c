// daemon.cpp — the main loop (signals, control socket, reloads) and how
// bulwarkd leaves.
#include "daemon/daemon.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/log.h"
#include "daemon/systemd_job.h"

namespace bulwark {

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

Daemon::~Daemon() {
    if (pipeline_) pipeline_->stop();
}

void Daemon::notify_status() const {
    const RuleCounts c = rule_counts(*current_);
    sd_notifyf(0, "STATUS=%senforcing in %s mode%s, policy generation %u: %d protectedFiles, %d killOnOpen, "
                  "%d execAllowlist rules%s",
               integrity_status_.tampered ? "TAMPERED (restored, see bulwarkctl status): " : "", to_string(mode_),
               mode_ == EnforcementMode::tracepoint ? " (weaker: kills after the fact, see bulwarkctl status)" : "",
               writer_->generation(), c.protected_files, c.kill_on_open, c.exec_allowlist,
               pins_unavailable_.empty() ? "" : "; enforcement ends with bulwarkd (cannot pin)");
}

nlohmann::json Daemon::handle(const nlohmann::json& request) {
    const std::string cmd = request["cmd"].get<std::string>();
    if (cmd == "status") {
        verify_integrity();  // the answer reflects the kernel as it is now
        return status();
    }
    if (cmd == "rules") return bindings();
    if (cmd == "reload") {
        log::get("daemon")->info("reload requested over the control socket");
        return reload_answer(notified_reload());
    }
    if (cmd == "apply") {
        const auto secs = request.find("confirm_within_s");
        if (secs == request.end() || !secs->is_number_unsigned())
            return {{"ok", false}, {"error", "apply needs confirm_within_s, a number of seconds"}};
        return apply(secs->get<uint64_t>());
    }
    if (cmd == "confirm") return confirm();
    return {{"ok", false},
            {"error", "unknown command \"" + cmd + "\"; expected status, rules, reload, apply or confirm"}};
}

// SIGTERM means "stop" and "restart" alike.  Under systemd the unit's job
// tells them apart: only a stop job (systemctl stop, package removal,
// shutdown) detaches; a restart, an upgrade's restart, or a job systemd
// could not be asked about keeps the last generation in force (fail
// closed).  Outside systemd a stop signal detaches (bulwarkd in a terminal).
ExitEnforcement Daemon::decide_exit() const {
    auto lg = log::get("daemon");
    if (!pins_ || !pins_unavailable_.empty()) return ExitEnforcement::detached;  // nothing pinned
    if (!running_under_systemd()) return ExitEnforcement::detached;
    std::string why;
    auto job = own_unit_job_type(why);
    if (!job) {
        lg->warn("cannot ask systemd whether this is a stop or a restart ({}): enforcement stays pinned", why);
        return ExitEnforcement::pinned;
    }
    lg->info("systemd job on this unit: {}", job->empty() ? "none" : *job);
    return *job == "stop" ? ExitEnforcement::detached : ExitEnforcement::pinned;
}

void Daemon::shut_down() {
    if (!pipeline_) return;
    sd_notify(0, "STOPPING=1");
    const ExitEnforcement how = exit_enforcement_.value_or(ExitEnforcement::detached);
    // Deliver everything the kernel already reported before detaching.
    pipeline_->stop();
    const auto st = pipeline_->stats();
    auto lg = log::get("daemon");
    lg->info("delivered {} events; lost {} in the kernel, {} in the queue, {} on audit log writes; {} malformed",
             st.delivered, st.kernel_lost, st.queue_dropped, st.write_failed, st.malformed);
    std::string msg;
    if (how == ExitEnforcement::pinned) {
        enforcer_->keep_links(true);
        // An upgrade replaced the binary: the new one may take over.
        if (auto err = name_successor(enforcer_->maps().self, self_))
            lg->warn("{}: a replaced bulwarkd binary will be refused the pinned maps", err->to_string());
        msg = "exiting; generation " + std::to_string(writer_->generation()) + " stays in force, pinned in " +
              config_.pin_dir + ", until the next bulwarkd adopts it";
    } else {
        if (pins_)
            if (auto err = pins_->remove_all()) lg->error("{}", err->to_string());
        enforcer_->keep_links(false);
        msg = "stopped; BPF programs detached and unpinned: nothing is enforced until bulwarkd starts again";
    }
    pipeline_.reset();
    enforcer_.reset();  // detaches (or only lets go of) the links
    lg->info("{}", msg);
    if (journal_)
        journal_->notice(message_id::kPersistence, how == ExitEnforcement::pinned ? 5 : 4, msg,
                         {std::string("BULWARK_ENFORCEMENT=") +
                          (how == ExitEnforcement::pinned ? "pinned" : "detached")});
}

int Daemon::run() {
    auto lg = log::get("daemon");
    sigset_t mask = handled_signals();
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int efd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || efd < 0) {
        lg->error("{}", errno_error("create signalfd/epoll").to_string());
        exit_enforcement_ = ExitEnforcement::pinned;  // a failure is not a request to stop enforcing
        return kExitRuntime;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = 1;
    epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &e);
    e.data.u32 = 2;
    epoll_ctl(efd, EPOLL_CTL_ADD, control_->fd(), &e);
    // The integrity check's period (docs/daemon.md, "Tampering").
    UniqueFd tfd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (tfd.get() >= 0) {
        const itimerspec every{{kIntegrityCheckSeconds, 0}, {kIntegrityCheckSeconds, 0}};
        timerfd_settime(tfd.get(), 0, &every, nullptr);
        e.data.u32 = 3;
        epoll_ctl(efd, EPOLL_CTL_ADD, tfd.get(), &e);
    } else {
        lg->error("{}: the kernel state is checked only when status is asked",
                  errno_error("create the integrity timer").to_string());
    }

    // A trial's deadline (bulwarkctl apply --confirm-within).
    trial_timer_ = UniqueFd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (trial_timer_.get() >= 0) {
        e.data.u32 = 4;
        epoll_ctl(efd, EPOLL_CTL_ADD, trial_timer_.get(), &e);
    } else {
        lg->error("{}: bulwarkctl apply --confirm-within is refused",
                  errno_error("create the trial timer").to_string());
    }

    notify_status();
    sd_notify(0, "READY=1");
    lg->info("ready; control socket {}", config_.control_socket);

    int rc = kExitOk;
    bool running = true;
    while (running) {
        epoll_event evs[5];
        int n = epoll_wait(efd, evs, 5, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            lg->error("{}", errno_error("epoll_wait").to_string());
            rc = kExitRuntime;
            exit_enforcement_ = ExitEnforcement::pinned;  // a failure is not a request to stop enforcing
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.u32 == 3) {
                uint64_t expirations = 0;
                if (read(tfd.get(), &expirations, sizeof(expirations)) > 0) verify_integrity();
                continue;
            }
            if (evs[i].data.u32 == 4) {
                uint64_t expirations = 0;
                if (read(trial_timer_.get(), &expirations, sizeof(expirations)) > 0) end_trial();
                continue;
            }
            if (evs[i].data.u32 == 2) {
                control_->serve_one([this](const nlohmann::json& req) { return handle(req); });
                continue;
            }
            signalfd_siginfo si{};
            while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                    case SIGHUP:
                        lg->info("SIGHUP: reloading policy from {}", config_.policy_dir);
                        notified_reload();
                        break;
                    case SIGUSR1:
                        pipeline_->request_reopen();
                        break;
                    default:
                        lg->info("{} (from pid {}): stopping", strsignal(static_cast<int>(si.ssi_signo)),
                                 si.ssi_pid);
                        exit_enforcement_ = decide_exit();
                        running = false;
                        break;
                }
            }
        }
    }
    close(efd);
    close(sfd);
    return rc;
}

}  // namespace bulwark
