/* SPDX-License-Identifier: GPL-2.0 */
/*
 * preexisting.bpf.h — descriptors opened before the generation in force:
 * an iter/task_file program the daemon runs right after each generation
 * comes into force (start-up, adoption, every reload).  It visits every
 * open descriptor of every process once and, for each one on a file a rule
 * of that generation covers (deny write: writable descriptors only),
 *   - writes a `preexisting` record to the ring buffer (the holder's pid,
 *     comm and descriptor), and
 *   - when the object enforces (LSM mode) and the rule does, writes the
 *     holder's (tgid, fd) to the iterator's output: the daemon takes that
 *     descriptor once (pidfd_getfd), which makes the LSM's file_receive hook
 *     mark the file's inode (bw_marks, lsm.bpf.c).  From then on reads,
 *     writes and maps of that inode are checked like an open.
 * The daemon's own descriptors are skipped.
 */
#ifndef BULWARK_PREEXISTING_BPF_H
#define BULWARK_PREEXISTING_BPF_H

#include "report.bpf.h"

/* BW_DEFINE_PREEXISTING_ITER(enforced): the program, in an object whose
 * hooks can (LSM) or cannot (tracepoint) enforce on such descriptors. */
#define BW_DEFINE_PREEXISTING_ITER(enforced)                                           \
SEC("iter/task_file")                                                                  \
int bw_iter_preexisting(struct bpf_iter__task_file *ctx)                               \
{                                                                                      \
	struct task_struct *task = ctx->task;                                          \
	struct file *file = ctx->file;                                                 \
	struct bw_preexisting out = {};                                                \
	struct bw_report r = {};                                                       \
	struct bw_view v;                                                              \
	struct bw_walk w;                                                              \
	__u32 zero = 0;                                                                \
	struct bw_self *self;                                                          \
	bool writing, audit;                                                           \
                                                                                       \
	if (!task || !file)                                                            \
		return 0;                                                              \
	self = bpf_map_lookup_elem(&bw_self, &zero);                                   \
	if (self && self->tgid == (__u32)task->tgid)                                   \
		return 0;                                                              \
	if (!bw_view_get(&v) || !(v.cfg->flags & BW_CFG_FILES))                        \
		return 0;                                                              \
	bw_walk_file(&w, &v, file, BW_WALK_FILES);                                     \
	if (!w.strength)                                                               \
		return 0;                                                              \
	writing = (file->f_mode & BW_FMODE_WRITE) != 0;                                \
	if (w.rule.action == BW_ACT_DENY_WRITE && !writing)                            \
		return 0;                                                              \
	audit = (w.rule.flags & BW_RULE_AUDIT) || !(enforced);                         \
	r.key = bw_key_of_inode(file->f_inode);                                        \
	r.kind = BW_EV_PREEXISTING;                                                    \
	r.verdict = audit ? BW_VERDICT_AUDITED : BW_VERDICT_DENIED;                    \
	r.action = w.rule.action;                                                      \
	r.rule_id = w.rule.rule_id;                                                    \
	r.generation = v.generation;                                                   \
	r.open_flags = file->f_flags;                                                  \
	r.holder = task;                                                               \
	r.fd = ctx->fd;                                                                \
	if (writing)                                                                   \
		r.flags |= BW_EVF_WRITE;                                               \
	r.flags |= bw_walk_event_flags(&w);                                            \
	bw_report(&r, BW_PATH_D_PATH, &file->f_path);                                  \
	if (audit)                                                                     \
		return 0;                                                              \
	out.tgid = task->tgid;                                                         \
	out.fd = ctx->fd;                                                              \
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));                              \
	return 0;                                                                      \
}

#endif /* BULWARK_PREEXISTING_BPF_H */
