/* The real-kernel fixture shared by the loader tests (kernel_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_fixture.h"
#include "petrel/util.h"

/* PETREL_TEST_KERNEL, else .cache/vmlinuz from the cwd or the repo. */
bool kernel_path(char *path, size_t size)
{
	const char *env = getenv("PETREL_TEST_KERNEL");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(path, size, "%s", env);
		return access(path, R_OK) == 0;
	}
	snprintf(path, size, ".cache/vmlinuz");
	if (access(path, R_OK) == 0)
		return true;
	/* <root>/build/tests/unit/test_x: four levels up is the repo */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	for (int i = 0; i < 4; i++) {
		char *s = strrchr(exe, '/');
		if (!s)
			return false;
		*s = 0;
	}
	snprintf(path, size, "%s/.cache/vmlinuz", exe);
	return access(path, R_OK) == 0;
}

uint8_t *read_kernel(size_t *len)
{
	char path[PATH_MAX + 32];
	uint8_t *img = NULL;

	if (!kernel_path(path, sizeof(path)))
		return NULL;
	return read_file(path, &img, len, 256 * MiB) == 0 ? img : NULL;
}

int load_kernel(void **state)
{
	struct kernel *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->img = read_kernel(&k->len);
	*state = k;
	return 0;
}

int free_kernel(void **state)
{
	struct kernel *k = *state;

	free(k->img);
	free(k);
	return 0;
}

struct kernel *need_kernel(void **state)
{
	struct kernel *k = *state;

	if (!k || !k->img) {
		print_message("kernel not found (set PETREL_TEST_KERNEL or run "
			      "tools/fetch-kernel.sh): skipped\n");
		skip();
	}
	return k;
}
