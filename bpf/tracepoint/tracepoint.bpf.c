// SPDX-License-Identifier: GPL-2.0
/*
 * tracepoint.bpf.c — bulwark's enforcement where BPF LSM cannot be attached.
 *
 * Tracepoints cannot refuse anything; they can only act after the fact:
 *
 *   tp_btf/sys_exit (open, openat, openat2, creat, open_by_handle_at)
 *       a successful open returned a descriptor: resolve it to its file and
 *       match the identity (the same maps as LSM mode).  Kill-on-open files:
 *       SIGKILL, delivered before the syscall returns to user space, so the
 *       process never reads a byte.  Protected files: SIGKILL too, or only
 *       an audit event (bw_tp_settings.protect_audit_only).
 *   tp_btf/sched_process_exec
 *       a process exec'd a file outside its allowlist: SIGKILL before its
 *       first instruction.
 *
 * What this mode cannot do (bulwarkctl status lists it): refuse anything
 * (an O_TRUNC open has truncated the file before the kill); see opens made
 * through io_uring; guard files against unlink, rename, link, chmod, chown
 * or xattr changes.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the daemon before load. */
const volatile struct {
	__u32 protect_audit_only; /* protected files: report, don't kill */
} bw_tp_settings = {};

/* x86_64 numbers of the syscalls that open a path and return a descriptor. */
#define BW_NR_OPEN 2
#define BW_NR_CREAT 85
#define BW_NR_OPENAT 257
#define BW_NR_OPEN_BY_HANDLE_AT 304
#define BW_NR_OPENAT2 437

static __always_inline struct file *bw_fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	unsigned int max;

	if (!fdt || fd < 0)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) < 0)
		return NULL;
	return file;
}

static __always_inline int bw_after_open(long ret)
{
	struct bw_scratch *m;
	struct bw_file_key key;
	struct bw_event *ev;
	struct dentry *dentry;
	struct file *file;
	__u32 slot, f_flags, f_mode, verdict;
	int active;
	bool writing;

	if (ret < 0)
		return 0;
	active = bw_active_slot();
	if (active < 0)
		return 0;
	slot = (__u32)active;
	file = bw_fd_file(ret);
	if (!file)
		return 0;
	dentry = BPF_CORE_READ(file, f_path.dentry);
	m = bw_match(slot, dentry);
	if (!m)
		return 0;
	f_flags = BPF_CORE_READ(file, f_flags);
	f_mode = BPF_CORE_READ(file, f_mode);
	writing = (f_mode & BW_FMODE_WRITE) || (f_flags & BW_O_TRUNC);
	if (m->rule.action == BW_ACT_DENY_WRITE && !writing)
		return 0;

	if (m->rule.flags & BW_RULE_AUDIT)
		verdict = BW_VERDICT_AUDITED;
	else if (m->rule.action != BW_ACT_KILL && bw_tp_settings.protect_audit_only)
		verdict = BW_VERDICT_AUDITED;
	else
		verdict = BW_VERDICT_KILLED;
	if (verdict == BW_VERDICT_KILLED)
		bpf_send_signal(BW_SIGKILL); /* delivered before the syscall returns */

	bw_count(BW_COUNT_VERDICT);
	key = bw_key_of_inode(BPF_CORE_READ(dentry, d_inode));
	ev = bw_event_start(BW_EV_FILE_OPEN, &key);
	if (ev) {
		ev->verdict = verdict;
		ev->action = m->rule.action;
		ev->rule_id = m->rule.rule_id;
		ev->generation = bw_generation(slot);
		ev->open_flags = f_flags;
		if (writing)
			ev->flags |= BW_EVF_WRITE;
		if (m->dir_match)
			ev->flags |= BW_EVF_DIR_MATCH;
		bw_event_name(ev, dentry);
		bw_event_submit(ev);
	}
	return 0;
}

/* Every syscall exit passes here (a raw tracepoint needs no tracefs); all
 * but the open family leave after one compare. */
SEC("tp_btf/sys_exit")
int BPF_PROG(bw_tp_sys_exit, struct pt_regs *regs, long ret)
{
	unsigned long nr = regs->orig_ax;

	if (nr != BW_NR_OPENAT && nr != BW_NR_OPEN && nr != BW_NR_OPENAT2 && nr != BW_NR_CREAT &&
	    nr != BW_NR_OPEN_BY_HANDLE_AT)
		return 0;
	return bw_after_open(ret);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(bw_tp_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	struct bw_exec_hit hit;
	struct bw_file_key key;
	struct bw_event *ev;
	struct dentry *dentry;
	int active = bw_active_slot();

	if (active < 0)
		return 0;
	dentry = BPF_CORE_READ(bprm, file, f_path.dentry);
	if (!bw_exec_check((__u32)active, dentry, &hit))
		return 0;
	if (hit.enforce)
		bpf_send_signal(BW_SIGKILL); /* before the new program's first instruction */

	bw_count(BW_COUNT_VERDICT);
	key = bw_key_of_inode(BPF_CORE_READ(dentry, d_inode));
	ev = bw_event_start(BW_EV_EXEC, &key);
	if (ev) {
		ev->verdict = hit.enforce ? BW_VERDICT_KILLED : BW_VERDICT_AUDITED;
		ev->rule_id = hit.rule_id;
		ev->generation = hit.generation;
		if (bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), BPF_CORE_READ(bprm, filename)) < 0) {
			ev->path[0] = 0;
			ev->flags |= BW_EVF_PATH_MISSING;
		}
		bw_event_submit(ev);
	}
	return 0;
}
