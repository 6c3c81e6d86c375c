/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_types.h — the few kernel-internal types the BPF programs touch,
 * declared with only the fields we read.  preserve_access_index makes every
 * access a CO-RE relocation, resolved against the running kernel's BTF when
 * the object is loaded, so the build never depends on the build host's kernel.
 */
#ifndef BULWARK_KERNEL_TYPES_H
#define BULWARK_KERNEL_TYPES_H

#include <linux/types.h>
#include <stdbool.h>

typedef __u32 dev_t;
typedef unsigned short umode_t;
typedef unsigned int fmode_t;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct super_block {
	dev_t s_dev;
};

struct inode {
	umode_t i_mode;
	struct super_block *i_sb;
	unsigned long i_ino;
};

struct qstr {
	const unsigned char *name;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	fmode_t f_mode;
};

struct linux_binprm {
	struct file *file;
	const char *filename;
};

/* x86_64 register frame: the syscall number is orig_ax. */
struct pt_regs {
	unsigned long orig_ax;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct files_struct *files;
};

#pragma clang attribute pop

/* The record of the syscalls:sys_exit_* trace events (the ftrace event
 * format, a stable ABI: see events/syscalls/sys_exit_openat/format). */
struct bw_syscall_exit {
	__u64 common;     /* common_type, common_flags, common_preempt_count, common_pid */
	int syscall_nr;
	int _pad;
	long ret;
};

/* Kernel constants we rely on (stable ABI values). */
#define BW_FMODE_WRITE 0x2u
#define BW_O_TRUNC 01000u
#define BW_EPERM 1
#define BW_SIGKILL 9

#endif /* BULWARK_KERNEL_TYPES_H */
