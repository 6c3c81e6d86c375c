// SPDX-License-Identifier: GPL-2.0
/*
 * lsm.bpf.c — bulwark's enforcement in BPF LSM mode.
 *
 *   file_open             protected files (-EPERM), kill-on-open files
 *                         (SIGKILL + -EPERM)
 *   bprm_check_security   exec allowlists (-EPERM)
 *
 * Files are matched by identity (the inode's superblock dev and inode number)
 * in the hash maps of the policy slot in force; never by path strings.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u32 bw_verdict_for(__u32 action, __u32 flags)
{
	if (flags & BW_RULE_AUDIT)
		return BW_VERDICT_AUDITED;
	return action == BW_ACT_KILL ? BW_VERDICT_KILLED : BW_VERDICT_DENIED;
}

SEC("lsm/file_open")
int BPF_PROG(bw_lsm_file_open, struct file *file, int ret)
{
	struct bw_file_rule *rule;
	struct bw_file_key key;
	struct bw_event *ev;
	__u32 slot, action, rule_id, flags, scope, f_flags, verdict;
	int active;
	void *files;
	bool writing;

	if (ret)
		return ret;
	active = bw_active_slot();
	if (active < 0)
		return 0;
	slot = (__u32)active;
	files = bpf_map_lookup_elem(&bw_files, &slot);
	if (!files)
		return 0;

	key = bw_key_of_inode(file->f_inode);
	rule = bpf_map_lookup_elem(files, &key);
	if (!rule)
		return 0;
	action = rule->action;
	rule_id = rule->rule_id;
	flags = rule->flags;
	scope = rule->scope & (BW_MAX_SCOPES - 1);

	f_flags = file->f_flags;
	writing = (file->f_mode & BW_FMODE_WRITE) || (f_flags & BW_O_TRUNC);
	if (action == BW_ACT_DENY_WRITE && !writing)
		return 0;
	if (action == BW_ACT_NONE)
		return 0;
	if (scope != BW_SCOPE_HOST && !(bw_task_scopes(slot) & (1ull << scope)))
		return 0;

	verdict = bw_verdict_for(action, flags);
	bw_count(BW_COUNT_VERDICT);
	ev = bw_event_start(BW_EV_FILE_OPEN, &key);
	if (ev) {
		ev->verdict = verdict;
		ev->action = action;
		ev->rule_id = rule_id;
		ev->generation = bw_generation(slot);
		ev->open_flags = f_flags;
		if (writing)
			ev->flags |= BW_EVF_WRITE;
		bw_event_path(ev, &file->f_path);
		bw_event_submit(ev);
	}

	if (verdict == BW_VERDICT_AUDITED)
		return 0;
	if (verdict == BW_VERDICT_KILLED)
		bpf_send_signal(BW_SIGKILL);
	return -BW_EPERM;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bw_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct bw_gen_config *cfg;
	struct bw_exec_allow *allow;
	struct bw_file_key key;
	struct bw_event *ev;
	struct file *file;
	__u64 allowed = 0, task_scopes, required = 0, audit = 0, missing, enforce, hunt;
	__u32 slot, n, i, hit = 0;
	int active;
	void *exec;

	if (ret)
		return ret;
	active = bw_active_slot();
	if (active < 0)
		return 0;
	slot = (__u32)active;
	cfg = bpf_map_lookup_elem(&bw_config, &slot);
	if (!cfg || cfg->n_allowlists == 0)
		return 0;
	n = cfg->n_allowlists;

	file = bprm->file;
	key = bw_key_of_inode(file->f_inode);
	exec = bpf_map_lookup_elem(&bw_exec, &slot);
	if (exec) {
		allow = bpf_map_lookup_elem(exec, &key);
		if (allow)
			allowed = allow->allowlists;
	}

	/* The file must be in every allowlist whose scope holds the task.
	 * Branch-free over all slots so verification stays linear. */
	task_scopes = bw_task_scopes(slot);
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		__u64 in_scope = (task_scopes >> (cfg->allowlist_scope[i] & (BW_MAX_SCOPES - 1))) & 1;

		required |= in_scope << i;
		audit |= (__u64)(cfg->allowlist_flags[i] & BW_RULE_AUDIT) << i;
	}
	required &= n >= 64 ? ~0ull : ((1ull << n) - 1);
	missing = required & ~allowed;
	if (!missing)
		return 0;
	enforce = missing & ~audit;
	hunt = enforce ? enforce : missing;
	for (i = 0; i < BW_MAX_ALLOWLISTS; i++) {
		if (hunt & (1ull << i)) {
			hit = i;
			break;
		}
	}

	bw_count(BW_COUNT_VERDICT);
	ev = bw_event_start(BW_EV_EXEC, &key);
	if (ev) {
		ev->verdict = enforce ? BW_VERDICT_DENIED : BW_VERDICT_AUDITED;
		ev->rule_id = cfg->allowlist_rule[hit & (BW_MAX_ALLOWLISTS - 1)];
		ev->generation = cfg->generation;
		bw_event_path(ev, &file->f_path);
		bw_event_submit(ev);
	}
	return enforce ? -BW_EPERM : 0;
}
