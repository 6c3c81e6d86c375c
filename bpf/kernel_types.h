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
	unsigned long s_magic;
};

struct hlist_node {
	struct hlist_node *next;
};

struct hlist_head {
	struct hlist_node *first;
};

typedef struct {
	int counter;
} atomic_t;

struct address_space {
	atomic_t i_mmap_writable; /* shared writable mappings */
};

struct inode {
	umode_t i_mode;
	atomic_t i_writecount; /* > 0: open for writing */
	struct address_space *i_mapping;
	struct super_block *i_sb;
	unsigned long i_ino;
	__u32 i_generation;
	struct hlist_head i_dentry; /* the inode's dentries (d_u.d_alias) */
};

struct qstr {
	__u32 len; /* in the kernel inside an anonymous union: CO-RE finds it there */
	const unsigned char *name;
};

struct dentry {
	unsigned int d_flags; /* DCACHE_* */
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
	union {
		struct hlist_node d_alias;
	} d_u;
};

struct vfsmount {
	struct super_block *mnt_sb;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	fmode_t f_mode;
	void *private_data; /* a bpf link's file: its struct bpf_link */
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

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
};

struct kernfs_node {
	__u64 id;
	const char *name;
};

struct cgroup_root {
	int hierarchy_id; /* 0: the cgroup v2 (default) hierarchy */
};

struct cgroup {
	struct kernfs_node *kn;
	struct cgroup_root *root;
};

struct css_set {
	struct cgroup *dfl_cgrp;
};

struct ns_common {
	unsigned int inum;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
};

/* x86_64: the first member of task_struct (THREAD_INFO_IN_TASK). */
struct thread_info {
	__u32 status; /* TS_COMPAT while the task is in a 32-bit syscall */
};

struct mm_struct {
	struct file *exe_file;
};

struct task_struct {
	struct thread_info thread_info;
	unsigned int ptrace; /* non-zero while traced */
	int pid;
	int tgid;
	struct mm_struct *mm;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	__u64 start_boottime; /* ns since boot, suspend included (/proc/PID/stat's start time) */
	struct files_struct *files;
	const struct cred *cred;
	struct css_set *cgroups;
	struct nsproxy *nsproxy;
	char comm[16];
};

struct vm_area_struct {
	unsigned long vm_flags;
	struct file *vm_file;
};

struct iattr {
	unsigned int ia_valid;
};

struct mnt_idmap; /* 6.3+: the first argument of some inode hooks */

struct seq_file;

/* bulwark's own BPF objects, told apart by name (BPF_OBJ_NAME_LEN). */
struct bpf_map {
	char name[16];
};

struct bpf_prog_aux {
	char name[16];
};

struct bpf_prog {
	struct bpf_prog_aux *aux;
};

struct bpf_link {
	struct bpf_prog *prog;
};

struct bpf_iter_meta {
	struct seq_file *seq;
};

#pragma clang attribute pop

/* The context of an iter/task_file program: one open descriptor of one
 * task (threads sharing the table are visited once). */
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

/* The record of the syscalls:sys_exit_* trace events (the ftrace event
 * format, a stable ABI: see events/syscalls/sys_exit_openat/format). */
struct bw_syscall_exit {
	__u64 common;     /* common_type, common_flags, common_preempt_count, common_pid */
	int syscall_nr;
	int _pad;
	long ret;
};

/* Kernel constants we rely on (stable ABI values). */
#define BW_TS_COMPAT 0x0002u               /* x86 thread_info.status: in an ia32 syscall */
#define BW_X32_SYSCALL_BIT 0x40000000ul  /* x86 orig_ax of an x32 syscall */
#define BW_FMODE_READ 0x1u
#define BW_FMODE_WRITE 0x2u
#define BW_MAY_WRITE 0x2 /* file_permission's mask */
#define BW_PROT_WRITE 0x2
#define BW_PROT_EXEC 0x4
#define BW_MAP_SHARED 0x1
#define BW_VM_EXEC 0x4ul
#define BW_ATTR_ATIME (1u << 4) /* struct iattr.ia_valid */
#define BW_ATTR_MTIME (1u << 5)
#define BW_MS_REMOUNT 32ul      /* mount(2) flags */
#define BW_MS_BIND 4096ul
#define BW_MS_MOVE 8192ul
#define BW_MS_PROPAGATION (0x100000ul | 0x40000ul | 0x80000ul | 0x20000ul) /* UNBINDABLE PRIVATE SLAVE SHARED */
#define BW_O_TRUNC 01000u
#define BW_PTRACE_MODE_ATTACH 0x02u /* ptrace_access_check's mode */
#define BW_PR_SET_MM 35            /* prctl(2) */
#define BW_PR_SET_MM_EXE_FILE 13
#define BW_PR_SET_MM_MAP 14
#define BW_NSEC_PER_USER_TICK 10000000ull /* NSEC_PER_SEC / USER_HZ (100 on every arch /proc reports) */
#define BW_EPERM 1
#define BW_SIGKILL 9

#endif /* BULWARK_KERNEL_TYPES_H */
