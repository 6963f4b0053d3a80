/* libslirp by dlopen (slirp_lib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "petrel/util.h"
#include "slirp_lib.h"

int slirp_lib_open(struct slirp_lib *l)
{
	static const char *const names[] = {
		"slirp_new", "slirp_cleanup", "slirp_pollfds_fill", "slirp_pollfds_poll",
		"slirp_input", "slirp_handle_timer", "slirp_add_hostfwd", "slirp_version_string",
	};
	void *syms[ARRAY_SIZE(names)];

	memset(l, 0, sizeof(*l));
	/* the soname of the ABI slirp/libslirp.h describes */
	l->handle = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		pt_err("--net user needs libslirp (Debian: apt-get install libslirp0): %s", dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		syms[i] = dlsym(l->handle, names[i]);
		if (!syms[i]) {
			pt_err("--net user: libslirp.so.0 has no %s: %s", names[i], dlerror());
			slirp_lib_close(l);
			return -ENOENT;
		}
	}
	/* POSIX: a dlsym result converts to a function pointer (XSH 2.12.3) */
	memcpy(&l->new_, &syms[0], sizeof(void *));
	memcpy(&l->cleanup, &syms[1], sizeof(void *));
	memcpy(&l->pollfds_fill, &syms[2], sizeof(void *));
	memcpy(&l->pollfds_poll, &syms[3], sizeof(void *));
	memcpy(&l->input, &syms[4], sizeof(void *));
	memcpy(&l->handle_timer, &syms[5], sizeof(void *));
	memcpy(&l->add_hostfwd, &syms[6], sizeof(void *));
	memcpy(&l->version_string, &syms[7], sizeof(void *));
	return 0;
}

void slirp_lib_close(struct slirp_lib *l)
{
	if (l->handle)
		dlclose(l->handle);
	memset(l, 0, sizeof(*l));
}
