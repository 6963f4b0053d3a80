/* --net values: a virtio-net device and its backend, as in config.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/config.h"

static int port_of(const char *s, const char *end, uint16_t *out)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (const char *p = s; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* [ADDR] of [s, end): "" -> dflt */
static int addr_of(const char *s, const char *end, uint32_t dflt, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (s == end) {
		*out = dflt;
		return 0;
	}
	if ((size_t)(end - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(end - s));
	buf[end - s] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

/* PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU's hostfwd */
static int parse_hostfwd(const char *v, struct hostfwd_config *f)
{
	const char *c1, *c2, *dash, *c3, *end = v + strlen(v);
	uint32_t guest;

	memset(f, 0, sizeof(*f));
	c1 = strchr(v, ':');
	if (!c1)
		return -EINVAL;
	if (c1 - v == 3 && !strncmp(v, "tcp", 3))
		f->udp = false;
	else if (c1 - v == 3 && !strncmp(v, "udp", 3))
		f->udp = true;
	else if (c1 != v) /* QEMU: an empty protocol is tcp */
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	dash = c2 ? strchr(c2 + 1, '-') : NULL;
	c3 = dash ? strchr(dash + 1, ':') : NULL;
	if (!c3 || strchr(c3 + 1, ':'))
		return -EINVAL;
	if (addr_of(c1 + 1, c2, 0, &f->host_addr) < 0 ||
	    port_of(c2 + 1, dash, &f->host_port) < 0 ||
	    addr_of(dash + 1, c3, htonl(0x0a00020f) /* 10.0.2.15 */, &f->guest_addr) < 0 ||
	    port_of(c3 + 1, end, &f->guest_port) < 0)
		return -EINVAL;
	/* a guest on slirp's network, not its gateway, DNS or broadcast */
	guest = ntohl(f->guest_addr);
	if ((guest & 0xffffff00) != 0x0a000200 || (guest & 0xff) == 0 || (guest & 0xff) == 2 ||
	    (guest & 0xff) == 3 || (guest & 0xff) == 255)
		return -ERANGE;
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (strlen(v) != 17 ||
	    sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)v[3 * i]) || !isxdigit((unsigned char)v[3 * i + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	/* a NIC's own address is unicast and not all zero */
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -ERANGE;
	return 0;
}

int cli_parse_net(const char *arg, struct net_config *nc, char *err,
		  size_t errlen)
{
	char opt[64];
	const char *p = arg;
	bool backend = false;

	memset(nc, 0, sizeof(*nc));
	nc->fd = -1;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *v;

		if (n >= sizeof(opt)) {
			snprintf(err, errlen, "--net: option \"%.*s\" is too long", (int)n, p);
			return -EINVAL;
		}
		memcpy(opt, p, n);
		opt[n] = '\0';
		p = comma ? comma + 1 : p + n;
		v = strchr(opt, '=');
		v = v ? v + 1 : "";
		if (!strcmp(opt, "user") && !backend) {
			nc->kind = NET_USER;
			backend = true;
		} else if ((!strcmp(opt, "tap") || !strncmp(opt, "tap=", 4)) && !backend) {
			nc->kind = NET_TAP;
			backend = true;
			if (opt[3] == '=') {
				if (!*v || strlen(v) >= sizeof(nc->tap) || strchr(v, '/')) {
					snprintf(err, errlen, "--net: \"%s\" is not an interface name (1 to %zu bytes, no '/')",
						 v, sizeof(nc->tap) - 1);
					return -EINVAL;
				}
				memcpy(nc->tap, v, strlen(v) + 1);
			}
		} else if (!strncmp(opt, "fd=", 3) && backend && nc->kind == NET_TAP) {
			char *e;
			long fd;

			errno = 0;
			fd = strtol(v, &e, 10);
			if (!*v || *e || errno || fd < 0 || fd > 1 << 20) {
				snprintf(err, errlen, "--net: fd=%s is not a file descriptor number", v);
				return -EINVAL;
			}
			nc->fd = (int)fd;
		} else if (!strncmp(opt, "hostfwd=", 8) && backend && nc->kind == NET_USER) {
			int r;

			if (nc->nr_fwd == CONFIG_MAX_HOSTFWDS) {
				snprintf(err, errlen, "--net: at most %d hostfwd= per NIC", CONFIG_MAX_HOSTFWDS);
				return -EINVAL;
			}
			r = parse_hostfwd(v, &nc->fwd[nc->nr_fwd]);
			if (r == -ERANGE) {
				snprintf(err, errlen, "--net: hostfwd=%s: the guest address must be a guest's on 10.0.2.0/24 (default 10.0.2.15)", v);
				return -EINVAL;
			}
			if (r < 0) {
				snprintf(err, errlen, "--net: hostfwd=%s is not tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (e.g. hostfwd=tcp::2222-:22; ports 1-65535)", v);
				return -EINVAL;
			}
			for (unsigned i = 0; i < nc->nr_fwd; i++)
				if (nc->fwd[i].udp == nc->fwd[nc->nr_fwd].udp &&
				    nc->fwd[i].host_port == nc->fwd[nc->nr_fwd].host_port) {
					snprintf(err, errlen, "--net: hostfwd=%s: host port %u is forwarded twice", v,
						 nc->fwd[i].host_port);
					return -EINVAL;
				}
			nc->nr_fwd++;
		} else if (!strncmp(opt, "mac=", 4) && backend) {
			int r = parse_mac(v, nc->mac);

			if (r < 0) {
				snprintf(err, errlen, r == -ERANGE
					 ? "--net: mac=%s is multicast or zero: a NIC needs a unicast address (first byte even)"
					 : "--net: mac=%s is not a MAC address like 52:54:00:12:34:56", v);
				return -EINVAL;
			}
			nc->has_mac = true;
		} else if (!strncmp(opt, "transport=", 10) && backend) {
			if (!strcmp(v, "pci"))
				nc->transport = VIRTIO_TRANSPORT_PCI;
			else if (!strcmp(v, "mmio"))
				nc->transport = VIRTIO_TRANSPORT_MMIO;
			else {
				snprintf(err, errlen, "--net: transport=%s is not pci or mmio", v);
				return -EINVAL;
			}
		} else if (!backend) {
			snprintf(err, errlen, "--net: \"%s\" does not start with a backend: user, tap=NAME or tap,fd=N", arg);
			return -EINVAL;
		} else {
			snprintf(err, errlen, nc->kind == NET_USER
				 ? "--net user: unknown option \"%s\" (hostfwd=tcp::HOSTPORT-:GUESTPORT, mac=, transport=pci|mmio)"
				 : "--net tap: unknown option \"%s\" (fd=N, mac=, transport=pci|mmio)", opt);
			return -EINVAL;
		}
	}
	if (!backend) {
		snprintf(err, errlen, "--net: no backend: user, tap=NAME or tap,fd=N");
		return -EINVAL;
	}
	if (nc->kind == NET_TAP && !nc->tap[0] && nc->fd < 0) {
		snprintf(err, errlen, "--net tap: name the tap (tap=NAME) or pass its fd (tap,fd=N)");
		return -EINVAL;
	}
	if (nc->kind == NET_TAP && nc->tap[0] && nc->fd >= 0) {
		snprintf(err, errlen, "--net tap: tap=NAME and fd=N both name the tap: give one");
		return -EINVAL;
	}
	return 0;
}

void net_default_mac(const struct net_config *nc, unsigned index, uint8_t mac[6])
{
	/* FNV-1a over what identifies the NIC */
	char id[64];
	uint32_t h = 2166136261u;
	int n = snprintf(id, sizeof(id), "petrel-nic-%u-%s-%s", index,
			 nc->kind == NET_USER ? "user" : "tap", nc->tap);

	for (int i = 0; i < n && i < (int)sizeof(id); i++) {
		h ^= (uint8_t)id[i];
		h *= 16777619u;
	}
	/* 0x02: locally administered, unicast; 0x70 is 'p' */
	mac[0] = 0x02;
	mac[1] = 0x70;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
