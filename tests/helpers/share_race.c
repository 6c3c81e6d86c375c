/*
 * share_race — measures the tracepoint-mode window between an open and the
 * kill: while one task opens PATH, another task sharing its descriptor table
 * spins reading the descriptor number the open will return, and sends what
 * it read to the parent through a pipe.
 *
 *   share_race thread|sibling PATH TRIES
 *
 * thread:  the reader is a thread of the opener's process (killed with it);
 * sibling: the reader is a process created with CLONE_FILES (not in the
 *          opener's thread group).
 * Prints "TRIES LEAKED": the tries in which any byte reached the parent.
 * A reader that reads nothing gives up after 200 ms.  Exit 0; 1 when a
 * task cannot be created; 2 on bad usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *g_path;
static int g_fd_guess;
static int g_out;

static int reader(void *arg)
{
	char buf[64];
	ssize_t n;

	struct timespec start, now;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) > 200000000L)
			_exit(0);
		n = pread(g_fd_guess, buf, sizeof(buf), 0);
		if (n > 0) {
			(void)!write(g_out, buf, (size_t)n);
			_exit(0);
		}
	}
	return 0;
}

static void *reader_thread(void *arg)
{
	reader(arg);
	return NULL;
}

static char g_stack[64 * 1024] __attribute__((aligned(16)));

/* One try in a fresh child; returns 1 when bytes reached the pipe. */
static int one_try(int sibling)
{
	int p[2];
	pid_t child;
	char buf[64];
	int status;
	ssize_t n;

	if (pipe(p) < 0)
		exit(1);
	child = fork();
	if (child == 0) {
		pthread_t t;
		int fd;

		close(p[0]);
		g_out = p[1];
		/* the open returns the lowest free number: find it */
		g_fd_guess = dup(0);
		close(g_fd_guess);
		if (sibling) {
			if (clone(reader, g_stack + sizeof(g_stack), CLONE_FILES | CLONE_VM | SIGCHLD, NULL) < 0)
				_exit(1);
		} else if (pthread_create(&t, NULL, reader_thread, NULL) != 0) {
			_exit(1);
		}
		usleep(1000); /* let the reader spin (it only ever races, never waits) */
		fd = open(g_path, O_RDONLY);
		(void)fd;
		usleep(20000);
		_exit(0);
	}
	close(p[1]);
	waitpid(child, &status, 0);
	/* EOF once every writer (the child, its thread, its sibling) is gone */
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	return n > 0;
}

int main(int argc, char **argv)
{
	int tries, leaked = 0, i, sibling;

	if (argc != 4)
		return 2;
	sibling = strcmp(argv[1], "sibling") == 0;
	if (!sibling && strcmp(argv[1], "thread") != 0)
		return 2;
	g_path = argv[2];
	tries = atoi(argv[3]);
	for (i = 0; i < tries; ++i)
		leaked += one_try(sibling);
	printf("%d %d\n", tries, leaked);
	return 0;
}
