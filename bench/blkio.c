/*
 * blkio: the guest side of bench/blk.sh. Reads a block device with O_DIRECT
 * (so every request reaches the virtio-blk device, never the guest's page
 * cache) and prints one line per test:
 *
 *   BLKIO seq_read bs=1048576 bytes=N secs=S mbps=X
 *   BLKIO rand_read bs=4096 qd=1 ios=N secs=S iops=X
 *   BLKIO rand_read bs=4096 qd=32 ios=N secs=S iops=X
 *
 *   blkio DEVICE SEQ_MIB RAND_SECS
 *
 * Built static (cc -static) because the guest's initramfs has busybox and no
 * libc. Linux native AIO through raw syscalls, so that no libaio is needed
 * in the build or in the guest; the kernel's struct iocb comes from the UAPI
 * header <linux/aio_abi.h>. Random offsets come from a fixed-seed xorshift,
 * so every VMM is asked for the same sequence of blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS (1u << 20)
#define RAND_BS 4096u
#define MAX_QD 32

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	printf("BLKIO error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void *aligned(size_t len)
{
	void *p = NULL;

	/* O_DIRECT wants buffers aligned to the logical block; a page is enough */
	if (posix_memalign(&p, 4096, len) != 0)
		die("posix_memalign");
	memset(p, 0, len); /* fault the pages in before timing starts */
	return p;
}

static void seq_read(int fd, uint64_t dev_bytes, uint64_t want)
{
	char *buf = aligned(SEQ_BS);
	uint64_t done = 0;
	double t0, t;

	if (want > dev_bytes)
		want = dev_bytes - dev_bytes % SEQ_BS;
	t0 = now();
	while (done < want) {
		ssize_t n = pread(fd, buf, SEQ_BS, (off_t)done);

		if (n < 0)
			die("pread");
		if (n != (ssize_t)SEQ_BS) {
			errno = EIO;
			die("short pread");
		}
		done += (uint64_t)n;
	}
	t = now() - t0;
	printf("BLKIO seq_read bs=%u bytes=%" PRIu64 " secs=%.3f mbps=%.1f\n", SEQ_BS, done, t,
	       done / t / 1e6);
	free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void prep(struct iocb *cb, int fd, void *buf, uint64_t blocks, unsigned slot)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = slot;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = RAND_BS;
	cb->aio_offset = (int64_t)(xorshift() % blocks * RAND_BS);
}

/*
 * qd requests are kept in flight until secs have passed, then the ones in
 * flight are drained; every completion counts and the clock stops after the
 * last, so IOPS = completions / elapsed.
 */
static void rand_read(int fd, uint64_t dev_bytes, unsigned qd, double secs)
{
	aio_context_t ctx = 0;
	struct iocb cbs[MAX_QD], *ptrs[MAX_QD];
	struct io_event ev[MAX_QD];
	char *bufs = aligned((size_t)qd * RAND_BS);
	uint64_t blocks = dev_bytes / RAND_BS, ios = 0;
	unsigned inflight = 0;
	double t0, end, t;

	if (syscall(SYS_io_setup, qd, &ctx) < 0)
		die("io_setup");
	rng_state = 0x9e3779b97f4a7c15ull;
	t0 = now();
	end = t0 + secs;
	for (unsigned i = 0; i < qd; i++) {
		prep(&cbs[i], fd, bufs + (size_t)i * RAND_BS, blocks, i);
		ptrs[i] = &cbs[i];
	}
	if (syscall(SYS_io_submit, ctx, (long)qd, ptrs) != (long)qd)
		die("io_submit");
	inflight = qd;
	while (inflight > 0) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)qd, ev, NULL);
		unsigned resub = 0;
		int more;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("io_getevents");
		}
		more = now() < end;
		for (long i = 0; i < n; i++) {
			unsigned slot = (unsigned)ev[i].data;

			if (ev[i].res != (int64_t)RAND_BS) {
				errno = ev[i].res < 0 ? (int)-ev[i].res : EIO;
				die("aio read");
			}
			ios++;
			inflight--;
			if (more) {
				prep(&cbs[slot], fd, bufs + (size_t)slot * RAND_BS, blocks, slot);
				ptrs[resub++] = &cbs[slot];
			}
		}
		if (resub > 0) {
			if (syscall(SYS_io_submit, ctx, (long)resub, ptrs) != (long)resub)
				die("io_submit");
			inflight += resub;
		}
	}
	t = now() - t0;
	syscall(SYS_io_destroy, ctx);
	printf("BLKIO rand_read bs=%u qd=%u ios=%" PRIu64 " secs=%.3f iops=%.0f\n", RAND_BS, qd, ios, t,
	       ios / t);
	free(bufs);
}

int main(int argc, char **argv)
{
	uint64_t dev_bytes = 0;
	struct stat st;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: blkio DEVICE SEQ_MIB RAND_SECS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0)
		die("open");
	/* a regular file too, so that the program can be tried on the host */
	if (fstat(fd, &st) < 0)
		die("fstat");
	if (S_ISREG(st.st_mode))
		dev_bytes = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0)
		die("ioctl(BLKGETSIZE64)");
	if (dev_bytes < SEQ_BS) {
		errno = ENOSPC;
		die("device too small");
	}
	printf("BLKIO device %s bytes=%" PRIu64 "\n", argv[1], dev_bytes);
	seq_read(fd, dev_bytes, strtoull(argv[2], NULL, 0) << 20);
	rand_read(fd, dev_bytes, 1, strtod(argv[3], NULL));
	rand_read(fd, dev_bytes, MAX_QD, strtod(argv[3], NULL));
	close(fd);
	return 0;
}
