/*
 * int80_open — an attack helper: opens a file through the ia32 syscall
 * entry (`int $0x80`) of a 64-bit process, as a 32-bit program would, then
 * reads it with an ordinary read() and writes what it read to stdout.
 *
 *   int80_open open|openat|creat|openat2 PATH
 *
 * Exit 0 after copying the bytes; 100 + errno when the open fails;
 * 2 on bad usage; 3 when the kernel has no ia32 entry (ENOSYS).
 * The syscall's pointer arguments must lie below 4 GiB, so the path is
 * copied into a MAP_32BIT page first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ia32 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl) */
#define NR32_OPEN 5
#define NR32_CREAT 8
#define NR32_OPENAT 295
#define NR32_OPENAT2 437

static long int80(long nr, long a, long b, long c, long d)
{
	long ret;

	/* the ia32 entry clobbers r8-r11 of a 64-bit caller */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

int main(int argc, char **argv)
{
	char *low;
	size_t len;
	long fd;
	char buf[4096];
	ssize_t n;

	if (argc != 3)
		return 2;
	len = strlen(argv[2]);
	if (len + 64 > 4096)
		return 2;
	low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 100 + errno;
	memcpy(low, argv[2], len + 1);

	if (strcmp(argv[1], "open") == 0) {
		fd = int80(NR32_OPEN, (long)low, O_RDONLY, 0, 0);
	} else if (strcmp(argv[1], "openat") == 0) {
		fd = int80(NR32_OPENAT, AT_FDCWD, (long)low, O_RDONLY, 0);
	} else if (strcmp(argv[1], "creat") == 0) {
		fd = int80(NR32_CREAT, (long)low, 0644, 0, 0);
	} else if (strcmp(argv[1], "openat2") == 0) {
		/* struct open_how { u64 flags, mode, resolve }: all zero is O_RDONLY */
		char *how = low + ((len + 8) & ~7ul);

		memset(how, 0, 24);
		fd = int80(NR32_OPENAT2, AT_FDCWD, (long)low, (long)how, 24);
	} else {
		return 2;
	}
	if (fd == -ENOSYS)
		return 3;
	if (fd < 0)
		return 100 + (int)-fd;
	/* creat opened it write-only: there is nothing to read back */
	while ((n = read((int)fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 4;
	return 0;
}
