// trial.cpp — trial enforcement: `bulwarkctl apply --confirm-within D`
// reloads and, unless `bulwarkctl confirm` arrives within D, puts the last
// confirmed policy back in force (as a new generation).  An admin whose new
// policy locks them out of the host gets the old one back without a
// console (docs/daemon.md, "Trial enforcement").
#include <sys/timerfd.h>

#include "daemon/daemon.h"
#include "daemon/event.h"
#include "daemon/log.h"

namespace bulwark {

// At most a day: a trial is a safety net, not a schedule.
constexpr uint64_t kMaxTrialSeconds = 24 * 3600;

nlohmann::json Daemon::apply(uint64_t seconds) {
    auto lg = log::get("daemon");
    if (seconds == 0 || seconds > kMaxTrialSeconds)
        return {{"ok", false},
                {"error", "confirm within must be 1 s to " + std::to_string(kMaxTrialSeconds / 3600) + " h"}};
    if (trial_timer_.get() < 0) return {{"ok", false}, {"error", "no trial timer (see bulwarkd's log at start)"}};
    // A trial during a trial keeps the first one's fallback: what goes back
    // is always the last policy someone confirmed.
    Trial t;
    if (trial_) {
        t.fallback = trial_->fallback;
        t.fallback_policies = trial_->fallback_policies;
        t.fallback_generation = trial_->fallback_generation;
    } else {
        t.fallback = current_;
        t.fallback_policies = current_policies_;
        t.fallback_generation = writer_->generation();
    }
    if (!t.fallback) return {{"ok", false}, {"error", "no policy in force to go back to"}};
    lg->info("apply requested over the control socket: a trial of {} s", seconds);
    ReloadResult r = notified_reload();
    nlohmann::json answer = reload_answer(r);
    if (!r.ok) return answer;  // nothing changed; a trial in progress goes on
    t.generation = r.generation;
    t.seconds = seconds;
    t.deadline_ns = wall_now_ns() + static_cast<int64_t>(seconds) * 1'000'000'000;
    const itimerspec once{{0, 0}, {static_cast<time_t>(seconds), 0}};
    timerfd_settime(trial_timer_.get(), 0, &once, nullptr);
    trial_ = t;
    lg->warn("trial: generation {} is in force; unless `bulwarkctl confirm` comes by {} ({} s), the policy of "
             "generation {} goes back in force",
             t.generation, format_wall_time(t.deadline_ns), seconds, t.fallback_generation);
    notify_status();
    answer["trial"] = {{"generation", t.generation},
                       {"fallback_generation", t.fallback_generation},
                       {"deadline", format_wall_time(t.deadline_ns)}};
    return answer;
}

nlohmann::json Daemon::confirm() {
    if (!trial_) return {{"ok", false}, {"error", "no trial to confirm (bulwarkctl apply --confirm-within starts one)"}};
    const itimerspec off{};
    timerfd_settime(trial_timer_.get(), 0, &off, nullptr);
    const uint32_t gen = writer_->generation();
    log::get("daemon")->info("trial confirmed: generation {} stays in force", gen);
    trial_.reset();
    notify_status();
    return {{"ok", true}, {"generation", gen}};
}

void Daemon::end_trial() {
    if (!trial_) return;
    auto lg = log::get("daemon");
    double ms = 0;
    auto gen = install(trial_->fallback, ms);
    if (!gen) {
        // The trial's policy stays; try again soon rather than give up.
        lg->critical("trial of generation {} not confirmed, but putting the previous policy back failed: {}; "
                     "trying again in 5 s",
                     trial_->generation, gen.error().to_string());
        const itimerspec retry{{0, 0}, {5, 0}};
        timerfd_settime(trial_timer_.get(), 0, &retry, nullptr);
        return;
    }
    current_ = trial_->fallback;
    current_policies_ = trial_->fallback_policies;
    loaded_at_ns_ = wall_now_ns();
    mark_preexisting(gen->generation);
    lg->warn("trial of generation {} was not confirmed within {} s: the policy of generation {} is back in force, "
             "as generation {}; the files in {} still hold the trial's policy: fix them, then apply again",
             trial_->generation, trial_->seconds, trial_->fallback_generation, gen->generation, config_.policy_dir);
    trial_.reset();
    notify_status();
}

}  // namespace bulwark
