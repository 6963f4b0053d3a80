/*
 * The real Debian kernel as a cmocka group fixture, shared by the loader
 * tests: found through $PETREL_TEST_KERNEL, else .cache/vmlinuz in the
 * current directory or in the repository holding the test binary. Tests
 * that need it skip (with a message) when it is not there.
 */
#ifndef PETREL_TEST_KERNEL_FIXTURE_H
#define PETREL_TEST_KERNEL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kernel {
	uint8_t *img;
	size_t len;
};

/* Where the kernel is (true if readable there), and its bytes. */
bool kernel_path(char *path, size_t size);
uint8_t *read_kernel(size_t *len);
int load_kernel(void **state);  /* cmocka group setup */
int free_kernel(void **state);  /* cmocka group teardown */
struct kernel *need_kernel(void **state);

#endif
