/* SPDX-License-Identifier: GPL-2.0 */
/*
 * self.bpf.h — bulwark guarding itself (LSM mode): who may touch its BPF
 * maps, programs, links, pins and process, and the record of an attempt by
 * anyone else.  bw_self (bulwark_abi.h) says who bulwarkd is; the hooks in
 * lsm.bpf.c call these helpers.  Nothing here runs on a hot path but one
 * hash lookup per open for writing (bw_self_guard_file): the rest runs on
 * bpf(), signals, ptrace, changes of a file's name or attributes, mounts and
 * task exit.
 */
#ifndef BULWARK_SELF_BPF_H
#define BULWARK_SELF_BPF_H

#include "report.bpf.h"

static __always_inline struct bw_self *bw_self_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bw_self, &zero);
}

/* Is `inode` one of the bulwarkd binaries bw_self names? */
static __always_inline bool bw_self_is_exe(const struct bw_self *self, struct inode *inode)
{
	struct bw_file_key key = bw_key_of_inode(inode);
	__u64 dev = key.dev, ino = key.ino;

	return (ino && ino == self->exe[0].ino && dev == self->exe[0].dev) ||
	       (ino && ino == self->exe[1].ino && dev == self->exe[1].dev);
}

/* Is `task` (any of its threads) bulwarkd's process: its id and the time
 * it started, so that a process later given the same id is not taken for
 * it? */
static __always_inline bool bw_self_is_task(const struct bw_self *self, struct task_struct *task)
{
	if (!self->tgid || !task || (__u32)task->tgid != self->tgid)
		return false;
	return task->group_leader->start_boottime / BW_NSEC_PER_USER_TICK == self->start_ticks;
}

/* May the current task touch bulwark's own objects?  With self-protection
 * off, anyone root's permissions allow.  Else the running bulwarkd alone;
 * when none runs (its process exited), a process running a bulwarkd
 * binary, not traced: the one that takes over at a restart or an upgrade. */
static __always_inline bool bw_self_may_touch(const struct bw_self *self)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!(self->flags & BW_SELF_PROTECT))
		return true;
	if (self->tgid)
		return bw_self_is_task(self, task);
	if (task->ptrace)
		return false; /* a tracer would run bulwarkd's code */
	return bw_self_is_exe(self, task->mm->exe_file->f_inode);
}

/* Refuses and reports an attempt on bulwark itself.  `what` names the
 * object as `source` says: a kernel string (a map's or program's name, a
 * pin's name, the target's comm) or a struct path; `inode` the object's
 * file when it has one. */
static __always_inline int bw_self_refuse_at(__u32 op, enum bw_path_source source, const void *what,
					     struct inode *inode, __u32 arg)
{
	struct bw_report r = {};

	r.key = bw_key_of_inode(inode);
	r.kind = BW_EV_TAMPER;
	r.op = op;
	r.arg = arg;
	r.verdict = BW_VERDICT_DENIED;
	r.action = BW_ACT_NONE;
	bw_report(&r, source, what);
	return -BW_EPERM;
}

static __always_inline int bw_self_refuse(__u32 op, const char *name, struct inode *inode, __u32 arg)
{
	return bw_self_refuse_at(op, BW_PATH_NAME, name, inode, arg);
}

/* A BPF object's name is bulwark's when it starts with "bw_" (every map and
 * program of both objects, and the inner maps bulwarkd creates). */
static __always_inline bool bw_self_named(const char *name)
{
	char prefix[3] = {};

	bpf_probe_read_kernel(prefix, sizeof(prefix), name);
	return prefix[0] == 'b' && prefix[1] == 'w' && prefix[2] == '_';
}

/* A descriptor of a map or program named `name` is being made (get-by-id,
 * BPF_OBJ_GET of a pin, creation). */
static __always_inline int bw_self_guard_object(__u32 op, const char *name)
{
	struct bw_self *self = bw_self_get();

	if (!self || !bw_self_named(name) || bw_self_may_touch(self))
		return 0;
	return bw_self_refuse(op, name, NULL, 0);
}

/* Is `dir` bulwark's pin directory or one of its two subdirectories? */
static __always_inline bool bw_self_is_pin_dir(const struct bw_self *self, struct inode *dir)
{
	__u64 ino;

	if (!dir || !self->pin_dev || dir->i_sb->s_dev != self->pin_dev)
		return false;
	ino = dir->i_ino;
	return ino == self->pin_dirs[0] || ino == self->pin_dirs[1] || ino == self->pin_dirs[2];
}

/* An entry of `dir` is being unlinked, renamed or removed: refused in the
 * pin directory, and of the pin directory itself, for anyone but bulwarkd
 * (a link whose last pin goes while no bulwarkd holds it is detached). */
static __always_inline int bw_self_guard_pins(struct inode *dir, struct dentry *dentry)
{
	struct bw_self *self = bw_self_get();
	struct inode *inode = dentry ? dentry->d_inode : NULL;

	if (!self || (!bw_self_is_pin_dir(self, dir) && !bw_self_is_pin_dir(self, inode)) || bw_self_may_touch(self))
		return 0;
	return bw_self_refuse(BW_OP_UNPIN, (const char *)dentry->d_name.name, inode, 0);
}

/* The bpf link behind descriptor `fd` of the current task, or NULL.  Only
 * a bpf() command that itself fails on anything but a link asks, so a
 * descriptor of another kind read as a link refuses nothing real. */
static __always_inline struct bpf_link *bw_self_link_of_fd(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **table;
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	table = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), table + fd) || !file)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

/* bpf(BPF_LINK_DETACH / BPF_LINK_UPDATE) on a link whose program is
 * bulwark's. */
static __always_inline int bw_self_guard_link(int cmd, int fd)
{
	struct bw_self *self = bw_self_get();
	char name[16] = {};
	struct bpf_link *link;
	struct bpf_prog *prog;

	if (!self || bw_self_may_touch(self))
		return 0;
	link = bw_self_link_of_fd(fd);
	if (!link)
		return 0;
	prog = BPF_CORE_READ(link, prog);
	if (!prog)
		return 0;
	BPF_CORE_READ_STR_INTO(&name, prog, aux, name);
	if (!bw_self_named(name))
		return 0;
	return bw_self_refuse(BW_OP_BPF_LINK, name, NULL, (__u32)cmd);
}

/* bpf(BPF_PROG_LOAD) of a program that could switch bulwark's hooks off:
 * an fmod_ret program (it can skip a security_* function, bulwark's hooks
 * with it) or another BPF LSM program (on 6.1 one returning 1 passes for
 * "allowed").  Refused to all but bulwarkd and PID 1 (systemd's own). */
static __always_inline int bw_self_guard_prog_load(const union bpf_attr *attr)
{
	static const char what[] = "BPF_PROG_LOAD";
	struct bw_self *self = bw_self_get();
	__u32 type = attr->prog_type, attach = attr->expected_attach_type;

	if (type != BPF_PROG_TYPE_LSM && !(type == BPF_PROG_TYPE_TRACING && attach == BPF_MODIFY_RETURN))
		return 0;
	if (!self || bw_self_may_touch(self) || (bpf_get_current_pid_tgid() >> 32) == 1)
		return 0;
	return bw_self_refuse(BW_OP_BPF_LOAD, what, NULL, type);
}

/* BW_SELF_FILE_* of `inode` in bw_self_files, 0 when it is none of
 * bulwark's files. */
static __always_inline __u32 bw_self_file_flags(struct inode *inode)
{
	struct bw_file_key key = bw_key_of_inode(inode);
	__u32 *flags;

	if (!key.ino)
		return 0;
	flags = bpf_map_lookup_elem(&bw_self_files, &key);
	return flags ? *flags : 0;
}

/* Is the current task a trusted installer: running one of the
 * trustedInstallers (bw_self_files, BW_SELF_FILE_INSTALLER), not traced,
 * as root?  Root only: anyone may run dpkg with LD_PRELOAD, and would act
 * as it (root may change the policy anyway, the sanctioned, logged way). */
static __always_inline bool bw_current_is_installer(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return !task->ptrace && (__u32)bpf_get_current_uid_gid() == 0 &&
	       (bw_self_file_flags(task->mm->exe_file->f_inode) & BW_SELF_FILE_INSTALLER);
}

/* `inode`, one of bulwark's own files, is about to change (`change`: a
 * BW_OP_* change, BW_OP_NONE for an open for writing): refused but to
 * bulwarkd and to a process running a trusted installer (dpkg upgrading
 * the package or a library).  `path` when the hook may resolve it, else the
 * dentry's name is reported. */
static __always_inline int bw_self_guard_file(struct inode *inode, __u32 change, const struct path *path,
					      struct dentry *dentry)
{
	struct bw_self *self;

	if (!inode || !(bw_self_file_flags(inode) & BW_SELF_FILE_GUARDED))
		return 0;
	self = bw_self_get();
	if (!self || bw_self_may_touch(self))
		return 0;
	if (bw_current_is_installer())
		return 0;
	if (path)
		return bw_self_refuse_at(BW_OP_SELF_FILE, BW_PATH_D_PATH, path, inode, change);
	return bw_self_refuse(BW_OP_SELF_FILE, (const char *)dentry->d_name.name, inode, change);
}

#endif /* BULWARK_SELF_BPF_H */
