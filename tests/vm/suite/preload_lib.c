/* preload_lib.c — the shared library the bypass suite maps executable
 * (LD_PRELOAD, dlopen, mprotect): copied to an allowed and a not-allowed
 * path.  Its constructor proves it ran by writing $BW_MARKER. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void bw_preload_mark(void)
{
	const char *marker = getenv("BW_MARKER");
	int fd;

	if (!marker)
		return;
	fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, "loaded\n", 7) != 7)
		_exit(3);
	close(fd);
}

int bw_lib_answer(void)
{
	return 42;
}
