/* --disk, --rng and --vconsole values: the options of a virtio device, as in config.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "petrel/config.h"

/*
 * Copies the next comma-separated field of *p into buf (",," is a literal
 * comma) and advances *p past it. -ENAMETOOLONG when it does not fit.
 */
static int next_field(const char **p, char *buf, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (*s) {
		if (*s == ',') {
			if (s[1] != ',')
				break;
			s++; /* ",," */
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		buf[n++] = *s++;
	}
	buf[n] = '\0';
	*p = *s == ',' ? s + 1 : s;
	return 0;
}

static int parse_transport(const char *v, enum virtio_transport_kind *t)
{
	if (!strcmp(v, "pci"))
		*t = VIRTIO_TRANSPORT_PCI;
	else if (!strcmp(v, "mmio"))
		*t = VIRTIO_TRANSPORT_MMIO;
	else
		return -EINVAL;
	return 0;
}

int cli_parse_disk(const char *arg, struct disk_config *d, char *err,
		   size_t errlen)
{
	const char *p = arg;
	char opt[64];

	memset(d, 0, sizeof(*d));
	if (next_field(&p, d->path, sizeof(d->path)) < 0) {
		snprintf(err, errlen, "--disk: the path is longer than %d bytes",
			 CONFIG_PATH_MAX - 1);
		return -EINVAL;
	}
	if (!d->path[0]) {
		snprintf(err, errlen, "--disk: no image path in \"%s\"", arg);
		return -EINVAL;
	}
	while (*p) {
		const char *v;

		if (next_field(&p, opt, sizeof(opt)) < 0) {
			snprintf(err, errlen, "--disk: an option in \"%s\" is too long", arg);
			return -EINVAL;
		}
		v = strchr(opt, '=');
		v = v ? v + 1 : "";
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
			d->readonly = true;
		} else if (!strncmp(opt, "serial=", 7)) {
			/* virtio-blk's ID is 20 bytes; say so rather than cut it */
			if (strlen(v) >= sizeof(d->serial)) {
				snprintf(err, errlen, "--disk: serial \"%s\" is longer than %zu bytes",
					 v, sizeof(d->serial) - 1);
				return -EINVAL;
			}
			snprintf(d->serial, sizeof(d->serial), "%s", v);
		} else if (!strcmp(opt, "cache=none")) {
			d->cache_none = true;
		} else if (!strcmp(opt, "cache=writeback")) {
			d->cache_none = false;
		} else if (!strcmp(opt, "io=uring")) {
			d->io = DISK_IO_URING;
		} else if (!strcmp(opt, "io=sync")) {
			d->io = DISK_IO_SYNC;
		} else if (!strncmp(opt, "transport=", 10) && parse_transport(v, &d->transport) == 0) {
			;
		} else {
			snprintf(err, errlen,
				 "--disk: unknown option \"%s\" (ro, serial=S, cache=none|writeback, io=uring|sync, transport=pci|mmio)",
				 opt);
			return -EINVAL;
		}
	}
	return 0;
}

int cli_parse_rng(const char *arg, struct vm_config *cfg, char *err,
		  size_t errlen)
{
	cfg->rng = true;
	cfg->rng_transport = VIRTIO_TRANSPORT_PCI;
	if (!arg)
		return 0;
	if (strncmp(arg, "transport=", 10) ||
	    parse_transport(arg + 10, &cfg->rng_transport) < 0) {
		snprintf(err, errlen, "--rng: \"%s\" is not transport=pci or transport=mmio", arg);
		return -EINVAL;
	}
	return 0;
}

int cli_parse_vconsole(const char *arg, struct vconsole_config *v, char *err,
		       size_t errlen)
{
	const char *p = arg;
	char opt[sizeof(v->path) + 8];
	bool backend = false;

	memset(v, 0, sizeof(*v));
	v->on = true;
	while (*p) {
		if (next_field(&p, opt, sizeof(opt)) < 0) {
			snprintf(err, errlen, "--vconsole: an option in \"%s\" is too long (a socket path has at most %zu bytes)",
				 arg, sizeof(v->path) - 1);
			return -EINVAL;
		}
		if (!strncmp(opt, "socket=", 7) && opt[7]) {
			if (strlen(opt + 7) >= sizeof(v->path)) {
				snprintf(err, errlen, "--vconsole: socket path longer than %zu bytes",
					 sizeof(v->path) - 1);
				return -EINVAL;
			}
			memcpy(v->path, opt + 7, strlen(opt + 7) + 1);
			v->stdio = false;
			backend = true;
		} else if (!strcmp(opt, "stdio")) {
			v->stdio = true;
			backend = true;
		} else if (!strncmp(opt, "transport=", 10) &&
			   parse_transport(opt + 10, &v->transport) == 0) {
			;
		} else {
			snprintf(err, errlen,
				 "--vconsole: unknown option \"%s\" (socket=PATH, stdio, transport=pci|mmio)",
				 opt);
			return -EINVAL;
		}
	}
	if (!backend) {
		snprintf(err, errlen, "--vconsole: \"%s\" names no backend (socket=PATH or stdio)", arg);
		return -EINVAL;
	}
	return 0;
}
