/* SPDX-License-Identifier: GPL-2.0 */
/*
 * report.bpf.h — the one function that turns a verdict into a ring-buffer
 * record, for every event kind and both modes.  A record that does not fit
 * is counted (events_lost), never dropped in silence.
 */
#ifndef BULWARK_REPORT_BPF_H
#define BULWARK_REPORT_BPF_H

#include "verdict.bpf.h"

/* Where the record's path comes from. */
enum bw_path_source {
	BW_PATH_D_PATH, /* a struct path: bpf_d_path (LSM hooks only) */
	BW_PATH_NAME,   /* a dentry's own name (kernel string): BW_EVF_NAME_ONLY */
	BW_PATH_STRING, /* a whole path as a kernel string (bprm->filename) */
};

struct bw_report {
	struct bw_file_key key;
	__u16 kind;       /* enum bw_event_kind */
	__u32 verdict;
	__u32 action;
	__u32 rule_id;
	__u32 generation;
	__u32 flags;      /* BW_EVF_* */
	__u32 open_flags;
	__u32 op;
	/* The task the record is about when it is not the current one (the
	 * holder of a preexisting descriptor, a BTF pointer), and its fd. */
	struct task_struct *holder;
	__s32 fd;
	__u32 arg; /* tamper records: bw_event.arg */
};

/* `source` must be a constant at every call site: the helper that reads the
 * path is chosen at compile time (bpf_d_path is refused outside LSM hooks). */
static __always_inline void bw_report(const struct bw_report *r, enum bw_path_source source, const void *path)
{
	struct task_struct *holder = r->holder;
	struct bw_event *ev;
	struct task_struct *task;
	__u64 pid_tgid, uid_gid;
	long n;

	bw_count(BW_COUNT_VERDICT);
	ev = bpf_ringbuf_reserve(&bw_events, sizeof(*ev), 0);
	if (!ev) {
		bw_count(BW_COUNT_LOST);
		return;
	}
	if (holder) {
		pid_tgid = ((__u64)holder->tgid << 32) | (__u32)holder->pid;
		uid_gid = ((__u64)holder->cred->gid.val << 32) | holder->cred->uid.val;
		ev->cgroup_id = holder->cgroups->dfl_cgrp->kn->id;
		task = holder;
		bpf_probe_read_kernel(ev->comm, sizeof(ev->comm), holder->comm);
		ev->fd = r->fd;
	} else {
		pid_tgid = bpf_get_current_pid_tgid();
		uid_gid = bpf_get_current_uid_gid();
		ev->cgroup_id = bpf_get_current_cgroup_id();
		task = (struct task_struct *)bpf_get_current_task();
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
		ev->fd = -1;
	}

	ev->size = sizeof(*ev);
	ev->abi = BW_ABI_VERSION;
	ev->kind = r->kind;
	ev->ts_boot_ns = bpf_ktime_get_boot_ns();
	ev->dev = r->key.dev;
	ev->ino = r->key.ino;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = (__u32)uid_gid;
	ev->gid = uid_gid >> 32;
	ev->verdict = r->verdict;
	ev->action = r->action;
	ev->rule_id = r->rule_id;
	ev->generation = r->generation;
	ev->flags = r->flags;
	ev->open_flags = r->open_flags;
	ev->op = r->op;
	ev->arg = r->arg;
	ev->path[0] = 0;
	if (source == BW_PATH_D_PATH) {
		n = bpf_d_path((struct path *)path, ev->path, sizeof(ev->path));
		if (n < 0) {
			ev->path[0] = 0;
			ev->flags |= (n == -36 /* ENAMETOOLONG */) ? BW_EVF_PATH_TRUNCATED : BW_EVF_PATH_MISSING;
		}
	} else {
		if (bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), path) < 0) {
			ev->path[0] = 0;
			ev->flags |= BW_EVF_PATH_MISSING;
		} else if (source == BW_PATH_NAME) {
			ev->flags |= BW_EVF_NAME_ONLY;
		}
	}
	bpf_ringbuf_submit(ev, 0);
	bw_count(BW_COUNT_EMITTED);
}

#endif /* BULWARK_REPORT_BPF_H */
