/*
 * Starts a VMM the way a user would (fork + exec) and times it from the
 * outside, so petrel, the raw-KVM program and QEMU are measured alike.
 *
 *   spawn [-x CHAR] [-t TIMEOUT_S] [-m GUEST_MIB -s SETTLE_MS] -- CMD ARGS...
 *
 * The child's stdout is a pipe (stdin /dev/null, stderr /dev/null unless
 * SPAWN_STDERR is set). The guests write 'X' to COM1 as their first act, so
 * the time until an 'X' arrives is the startup time. We look for that byte,
 * not just any byte, because firmware (SeaBIOS under QEMU -M pc) prints
 * before the guest runs. With -x Y we wait for the memory guest's 'Y', which
 * it writes once it has touched its pages. One line comes out:
 *
 *   mark_us F exit_us E status S           (startup: we wait for the exit)
 *   mark_us F rss_kib R guest_kib G anon_kib A pss_kib P
 *                                           (with -m: the child is sampled,
 *                                            then SIGKILLed)
 *
 * guest_kib is the Rss of the guest-RAM mapping: the anonymous mapping whose
 * size is GUEST_MIB MiB (up to 4 MiB more, for allocators that pad to a
 * huge-page boundary). If no mapping matches, guest_kib is -1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void usage(void)
{
	fprintf(stderr, "usage: spawn [-x CHAR] [-t TIMEOUT_S] [-m GUEST_MIB -s SETTLE_MS]"
			" -- CMD ARGS...\n");
	exit(2);
}

/* Sums Rss/Anonymous/Pss over every mapping, and the Rss of guest RAM. */
static int sample_smaps(pid_t pid, unsigned long long guest_bytes, long long out[4])
{
	char path[64], line[512];
	unsigned long long lo = 0, hi = 0, kib;
	int anon_map = 0, is_guest = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if (!(f = fopen(path, "r")))
		return -errno;
	out[0] = out[2] = out[3] = 0;
	out[1] = -1;
	while (fgets(line, sizeof(line), f)) {
		char name[256] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %255s", &lo, &hi, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			/* a mapping header: anonymous if it names no file */
			anon_map = name[0] == '\0';
			is_guest = anon_map && hi - lo >= guest_bytes &&
				   hi - lo <= guest_bytes + (4ULL << 20);
			continue;
		}
		if (sscanf(line, "Rss: %llu kB", &kib) == 1) {
			out[0] += (long long)kib;
			if (is_guest) {
				out[1] = (out[1] < 0 ? 0 : out[1]) + (long long)kib;
				is_guest = 0; /* count one mapping of that size only */
				guest_bytes = ~0ULL >> 8;
			}
		} else if (sscanf(line, "Anonymous: %llu kB", &kib) == 1) {
			out[2] += (long long)kib;
		} else if (sscanf(line, "Pss: %llu kB", &kib) == 1) {
			out[3] += (long long)kib;
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	int timeout_s = 60, settle_ms = 200, opt, p[2], status, seen = 0;
	char mark = 'X';
	long guest_mib = -1;
	double t0, t_first = -1, t_exit;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+x:t:m:s:")) != -1) {
		switch (opt) {
		case 'x': mark = optarg[0]; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'm': guest_mib = atol(optarg); break;
		case 's': settle_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	if (pipe2(p, O_CLOEXEC) < 0)
		return perror("pipe"), 2;

	t0 = now_us();
	pid = fork();
	if (pid < 0)
		return perror("fork"), 2;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(p[1], 1);
		if (!getenv("SPAWN_STDERR"))
			dup2(null, 2);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(p[1]);

	/* wait for the guest's mark; a VMM that dies first closes the pipe */
	while (!seen) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		char buf[64];
		ssize_t n;
		int left = (int)(timeout_s * 1000 - (now_us() - t0) / 1000);

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (memchr(buf, mark, (size_t)n)) {
			t_first = now_us();
			seen = 1;
		}
	}
	if (!seen) {
		fprintf(stderr, "spawn: %s: the guest never wrote '%c'\n", argv[optind], mark);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}

	if (guest_mib >= 0) {
		long long m[4] = { 0, -1, 0, 0 };
		int err;

		usleep((useconds_t)settle_ms * 1000);
		err = sample_smaps(pid, (unsigned long long)guest_mib << 20, m);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (err < 0) {
			fprintf(stderr, "spawn: smaps: %s\n", strerror(-err));
			return 1;
		}
		printf("mark_us %.0f rss_kib %lld guest_kib %lld anon_kib %lld pss_kib %lld\n",
		       t_first - t0, m[0], m[1], m[2], m[3]);
		return 0;
	}

	/* startup: the process's end is part of the figure's second column */
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now_us() - t0 > timeout_s * 1e6) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "spawn: %s: timed out\n", argv[optind]);
			return 1;
		}
		usleep(200);
	}
	t_exit = now_us();
	printf("mark_us %.0f exit_us %.0f status %d\n", t_first - t0, t_exit - t0,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
