/*
 * libslirp, loaded when a VM asks for --net user (dlopen), not linked:
 * linking it would map libslirp, GLib and PCRE2 into every petrel at
 * start (1.3 MiB resident more, measured with `petrel --version`), a cost
 * for every VM without user networking. Each slirp backend holds its own
 * reference (no global state; dlopen counts them). Internal to src/net/.
 */
#ifndef PETREL_NET_SLIRP_LIB_H
#define PETREL_NET_SLIRP_LIB_H

#include <slirp/libslirp.h>

struct slirp_lib {
	void *handle;
	__typeof__(slirp_new) *new_;
	__typeof__(slirp_cleanup) *cleanup;
	__typeof__(slirp_pollfds_fill) *pollfds_fill;
	__typeof__(slirp_pollfds_poll) *pollfds_poll;
	__typeof__(slirp_input) *input;
	__typeof__(slirp_handle_timer) *handle_timer;
	__typeof__(slirp_add_hostfwd) *add_hostfwd;
	__typeof__(slirp_version_string) *version_string;
};

/* 0, or -ENOENT after a message naming the package to install. */
int slirp_lib_open(struct slirp_lib *l);
void slirp_lib_close(struct slirp_lib *l);

#endif
