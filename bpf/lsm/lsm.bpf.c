// SPDX-License-Identifier: GPL-2.0
/*
 * lsm.bpf.c — bulwark's enforcement in BPF LSM mode.
 *
 *   file_open                      protected files (-EPERM), kill-on-open
 *                                  files (SIGKILL + -EPERM)
 *   bprm_check_security            exec allowlists (-EPERM)
 *   inode_unlink, inode_rmdir,     guarded files can't be removed, renamed,
 *   inode_rename, inode_link,      replaced, linked, truncated, chmod'ed,
 *   path_truncate, path_chmod,     chown'ed or have their xattrs changed
 *   path_chown, inode_setxattr,
 *   inode_removexattr
 *
 * Files are matched by identity (the inode's superblock dev and inode number,
 * and those of its ancestor directories for directory rules) in the hash maps
 * of the policy slot in force; never by path strings.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline __u32 bw_verdict_for(const struct bw_file_rule *r, bool may_kill)
{
	if (r->flags & BW_RULE_AUDIT)
		return BW_VERDICT_AUDITED;
	return (may_kill && r->action == BW_ACT_KILL) ? BW_VERDICT_KILLED : BW_VERDICT_DENIED;
}

/* Reports a matched rule and returns what the hook returns. */
static __always_inline int bw_act(struct bw_scratch *m, __u32 slot, __u16 kind, __u32 op,
				  struct dentry *dentry, struct path *path, __u32 open_flags,
				  bool writing)
{
	struct bw_file_key key = bw_key_of_inode(dentry->d_inode);
	__u32 verdict = bw_verdict_for(&m->rule, kind == BW_EV_FILE_OPEN);
	struct bw_event *ev;

	bw_count(BW_COUNT_VERDICT);
	ev = bw_event_start(kind, &key);
	if (ev) {
		ev->verdict = verdict;
		ev->action = m->rule.action;
		ev->rule_id = m->rule.rule_id;
		ev->generation = bw_generation(slot);
		ev->open_flags = open_flags;
		ev->op = op;
		if (writing)
			ev->flags |= BW_EVF_WRITE;
		if (m->dir_match)
			ev->flags |= BW_EVF_DIR_MATCH;
		if (path)
			bw_event_path(ev, path);
		else
			bw_event_name(ev, dentry->d_name.name);
		bw_event_submit(ev);
	}
	if (verdict == BW_VERDICT_AUDITED)
		return 0;
	if (verdict == BW_VERDICT_KILLED)
		bpf_send_signal(BW_SIGKILL);
	return -BW_EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(bw_lsm_file_open, struct file *file, int ret)
{
	struct bw_scratch *m;
	__u32 slot, f_flags;
	int active;
	bool writing;

	if (ret)
		return ret;
	active = bw_active_slot();
	if (active < 0)
		return 0;
	slot = (__u32)active;
	m = bw_match(slot, file->f_path.dentry);
	if (!m)
		return 0;

	f_flags = file->f_flags;
	writing = (file->f_mode & BW_FMODE_WRITE) || (f_flags & BW_O_TRUNC);
	if (m->rule.action == BW_ACT_DENY_WRITE && !writing)
		return 0;
	return bw_act(m, slot, BW_EV_FILE_OPEN, BW_OP_NONE, file->f_path.dentry, &file->f_path, f_flags,
		      writing);
}

/* Any rule (deny write, deny all, kill on open) guards its files against
 * being changed, removed or replaced. */
static __always_inline int bw_guard_change(struct dentry *dentry, __u32 op)
{
	struct bw_scratch *m;
	int active = bw_active_slot();

	if (active < 0 || !dentry)
		return 0;
	m = bw_match((__u32)active, dentry);
	if (!m)
		return 0;
	return bw_act(m, (__u32)active, BW_EV_FILE_CHANGE, op, dentry, NULL, 0, true);
}

SEC("lsm/inode_unlink")
int BPF_PROG(bw_lsm_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(dentry, BW_OP_UNLINK);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(bw_lsm_inode_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(dentry, BW_OP_RMDIR);
}

SEC("lsm/inode_rename")
int BPF_PROG(bw_lsm_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	ret = bw_guard_change(old_dentry, BW_OP_RENAME_FROM);
	if (ret)
		return ret;
	if (!new_dentry->d_inode)
		return 0; /* nothing there to replace */
	return bw_guard_change(new_dentry, BW_OP_RENAME_OVER);
}

SEC("lsm/inode_link")
int BPF_PROG(bw_lsm_inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry,
	     int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(old_dentry, BW_OP_LINK);
}

SEC("lsm/path_truncate")
int BPF_PROG(bw_lsm_path_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(path->dentry, BW_OP_TRUNCATE);
}

SEC("lsm/path_chmod")
int BPF_PROG(bw_lsm_path_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(path->dentry, BW_OP_CHMOD);
}

SEC("lsm/path_chown")
int BPF_PROG(bw_lsm_path_chown, const struct path *path, __u32 uid, __u32 gid, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(path->dentry, BW_OP_CHOWN);
}

/* The first argument is a user namespace (6.1) or an idmap (6.3+): unused. */
SEC("lsm/inode_setxattr")
int BPF_PROG(bw_lsm_inode_setxattr, void *ns, struct dentry *dentry, const char *name, const void *value,
	     __u64 size, int flags, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(dentry, BW_OP_SETXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(bw_lsm_inode_removexattr, void *ns, struct dentry *dentry, const char *name, int ret)
{
	if (ret)
		return ret;
	return bw_guard_change(dentry, BW_OP_REMOVEXATTR);
}

SEC("lsm/bprm_check_security")
int BPF_PROG(bw_lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct bw_exec_hit hit;
	struct bw_file_key key;
	struct bw_event *ev;
	struct file *file;
	int active;

	if (ret)
		return ret;
	active = bw_active_slot();
	if (active < 0)
		return 0;
	file = bprm->file;
	if (!bw_exec_check((__u32)active, file->f_path.dentry, &hit))
		return 0;

	bw_count(BW_COUNT_VERDICT);
	key = bw_key_of_inode(file->f_inode);
	ev = bw_event_start(BW_EV_EXEC, &key);
	if (ev) {
		ev->verdict = hit.enforce ? BW_VERDICT_DENIED : BW_VERDICT_AUDITED;
		ev->rule_id = hit.rule_id;
		ev->generation = hit.generation;
		bw_event_path(ev, &file->f_path);
		bw_event_submit(ev);
	}
	return hit.enforce ? -BW_EPERM : 0;
}
