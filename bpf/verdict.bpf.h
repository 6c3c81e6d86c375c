/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verdict.bpf.h — what a match means: the verdict of a file rule in each
 * mode, the exec allowlist verdict, and the kill that some verdicts need
 * (whose failure is reported, never hidden: BW_VERDICT_KILL_FAILED).
 * Which rule matches is walk.bpf.h (precedence: bw_rule_strength).
 */
#ifndef BULWARK_VERDICT_BPF_H
#define BULWARK_VERDICT_BPF_H

#include "walk.bpf.h"

/* LSM mode: audit mode reports; a kill-on-open rule kills (may_kill: the
 * hook is an open) and, like every other rule, denies. */
static __always_inline __u32 bw_lsm_file_verdict(const struct bw_file_rule *r, bool may_kill)
{
	if (r->flags & BW_RULE_AUDIT)
		return BW_VERDICT_AUDITED;
	return (may_kill && r->action == BW_ACT_KILL) ? BW_VERDICT_KILLED : BW_VERDICT_DENIED;
}

/* Tracepoint mode: nothing can be refused, an enforcing rule kills
 * (protected files only report when protect_audit_only). */
static __always_inline __u32 bw_tp_file_verdict(const struct bw_file_rule *r, bool protect_audit_only)
{
	if (r->flags & BW_RULE_AUDIT)
		return BW_VERDICT_AUDITED;
	if (r->action != BW_ACT_KILL && protect_audit_only)
		return BW_VERDICT_AUDITED;
	return BW_VERDICT_KILLED;
}

/* PID 1 (the host's) and the running bulwarkd: no policy kills them or
 * refuses them an exec -- killing either would end the host or its
 * enforcement (docs/policy.md, the lockout guard).  Their opens of a
 * protected file are still refused in LSM mode. */
static __always_inline bool bw_current_is_exempt(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == 1 || bw_current_is_self();
}

/* Carries out a KILLED verdict on the current task: SIGKILL, delivered
 * before the current syscall returns to user space.  Not for PID 1 or
 * bulwarkd (bw_current_is_exempt), and bpf_send_signal can fail (a kernel
 * thread, an exiting task; the irq work is busy): then the verdict becomes
 * KILL_FAILED and is counted. */
static __always_inline __u32 bw_carry_out(__u32 verdict)
{
	if (verdict != BW_VERDICT_KILLED)
		return verdict;
	if (!bw_current_is_exempt() && bpf_send_signal(BW_SIGKILL) == 0)
		return verdict;
	bw_count(BW_COUNT_KILL_FAILED);
	return BW_VERDICT_KILL_FAILED;
}

/* The exec allowlist verdict for a walk made with BW_WALK_EXEC. */
struct bw_exec_hit {
	__u32 rule_id;    /* rule of the (first) allowlist the file is missing from */
	bool enforce;     /* an enforcing allowlist refuses it (else: audit only) */
};

/* True when the file is missing from an allowlist whose scope holds the
 * task: it must be in every such allowlist (its own entry, or an ancestor
 * directory's when the allowlists name directories). */
static __always_inline bool bw_exec_missing(const struct bw_view *v, struct bw_walk *w, struct bw_exec_hit *hit)
{
	struct bw_gen_config *cfg = v->cfg;
	__u64 required = 0, audit = 0, missing, enforce, hunt, task_scopes;
	__u32 n = cfg->n_allowlists, i, first = 0;

	/* The task's scopes once, then branch-free over all slots so
	 * verification stays linear. */
	task_scopes = bw_task_scopes(v->slot);
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		__u32 scope = cfg->allowlist_scope[i] & (BW_MAX_SCOPES - 1);
		__u64 in_scope = i < n ? (task_scopes >> scope) & 1 : 0;

		required |= in_scope << i;
		audit |= (__u64)(cfg->allowlist_flags[i] & BW_RULE_AUDIT) << i;
	}
	missing = required & ~w->allowed;
	if (!missing)
		return false;
	enforce = missing & ~audit;
	hunt = enforce ? enforce : missing;
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		if (hunt & (1ull << i)) {
			first = i;
			break;
		}
	}
	hit->rule_id = cfg->allowlist_rule[first & (BW_MAX_ALLOWLISTS - 1)];
	hit->enforce = enforce != 0;
	return true;
}

#endif /* BULWARK_VERDICT_BPF_H */
