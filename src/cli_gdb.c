/* --gdb's value (config.h): where the GDB stub listens. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/config.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int cli_parse_gdb(const char *arg, struct gdb_config *g, char *err, size_t errlen)
{
	if (g->on) {
		snprintf(err, errlen, "--gdb: one GDB stub at most");
		return -EINVAL;
	}
	if (!strncmp(arg, "unix:", 5)) {
		const char *path = arg + 5;
		if (!*path || strlen(path) >= sizeof(g->path)) {
			snprintf(err, errlen, "--gdb unix:PATH: the path must be 1 to %zu bytes",
				 sizeof(g->path) - 1);
			return -EINVAL;
		}
		g->unix_socket = true;
		snprintf(g->path, sizeof(g->path), "%s", path);
	} else if (!strncmp(arg, "tcp:", 4)) {
		const char *hp = arg + 4, *colon = strrchr(hp, ':');
		const char *port = colon ? colon + 1 : hp;
		size_t hlen = colon ? (size_t)(colon - hp) : 0;

		if (parse_port(port, &g->port) < 0) {
			snprintf(err, errlen, "--gdb %s: \"%s\" is not a TCP port (1-65535)", arg, port);
			return -EINVAL;
		}
		if (colon && (hlen == 0 || hlen >= sizeof(g->host))) {
			snprintf(err, errlen, "--gdb %s: empty or overlong host (tcp:PORT or tcp:HOST:PORT)",
				 arg);
			return -EINVAL;
		}
		snprintf(g->host, sizeof(g->host), "%.*s", (int)(colon ? hlen : 9),
			 colon ? hp : "127.0.0.1");
	} else {
		snprintf(err, errlen, "--gdb: \"%s\" is not tcp:[HOST:]PORT or unix:PATH", arg);
		return -EINVAL;
	}
	g->on = true;
	return 0;
}
