#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "petrel/util.h"

void pt_log(const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One write per message: lines from several threads do not interleave. */
	char line[1200];
	n = snprintf(line, sizeof(line), "petrel: %s%s%s\r\n", level ? level : "",
		     level ? ": " : "", msg);
	if (n > (int)sizeof(line))
		n = sizeof(line);
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

/*
 * The body of read_file and read_file_map: the buffer comes from alloc
 * (size bytes, or NULL) and goes back through release.
 */
static int read_into(const char *path, uint8_t **buf, size_t *len,
		     size_t max_len, void *(*alloc)(size_t),
		     void (*release)(void *, size_t))
{
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0, size = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max_len) {
		err = -EFBIG;
		goto out;
	}
	size = st.st_size ? (size_t)st.st_size : 1;
	data = alloc(size);
	if (!data) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break; /* file shrank under us: take what is there */
		got += (size_t)r;
	}
	*buf = data;
	*len = got;
	data = NULL;
	err = 0;
out:
	if (data)
		release(data, size);
	close(fd);
	return err;
}

static void *heap_alloc(size_t size)
{
	return malloc(size);
}

static void heap_release(void *p, size_t size)
{
	(void)size;
	free(p);
}

static void *map_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void map_release(void *p, size_t size)
{
	munmap(p, size);
}

int read_file(const char *path, uint8_t **buf, size_t *len, size_t max_len)
{
	return read_into(path, buf, len, max_len, heap_alloc, heap_release);
}

int read_file_map(const char *path, uint8_t **buf, size_t *len, size_t max_len)
{
	return read_into(path, buf, len, max_len, map_alloc, map_release);
}
