/*
 * User-mode networking for virtio-net (net_backend.h) through libslirp:
 * no root, no host setup. The guest sees QEMU's familiar network:
 * 10.0.2.0/24, the host (gateway) at 10.0.2.2, DNS at 10.0.2.3, DHCP
 * handing out 10.0.2.15 on; IPv6 fec0::/64. Guest TCP/UDP to the outside
 * leaves through ordinary host sockets (10.0.2.2 is the host's loopback);
 * host port forwards (hostfwd) listen on the host.
 *
 * libslirp gets no thread: its sockets sit in an epoll set of their own,
 * registered as one fd on petrel's I/O thread (evloop.h), its TCP timers
 * run from a timerfd armed with the timeout slirp_pollfds_fill asks for,
 * and each of its own timers (timer_new_opaque) is a timerfd.
 *
 * Frames libslirp sends the guest are queued (bounded: 1024 frames) and
 * handed to the device; while the guest posts no receive buffers the queue
 * waits and slirp's sockets are not polled, so host senders are held back
 * by TCP rather than frames dropped. Only frames slirp makes on its own
 * while the queue is full are dropped (counted); its TCP retransmits them.
 *
 * Threading: after net_slirp_start everything runs on the I/O thread; a
 * mutex covers start/stop from another thread.
 */
#ifndef PETREL_NET_SLIRP_H
#define PETREL_NET_SLIRP_H

#include "petrel/config.h"
#include "petrel/evloop.h"
#include "petrel/net_backend.h"

#define NET_SLIRP_QUEUE_MAX 1024

struct net_slirp;

/* A slirp stack with nc's host forwards. 0, or -errno after a message. */
int net_slirp_create(struct net_slirp **out, const struct net_config *nc);
struct net_backend net_slirp_backend(struct net_slirp *s);
int net_slirp_start(struct net_slirp *s, struct net_port port, struct evloop *loop);
/* Off the loop: no callback runs after it returns (transmit still works). */
void net_slirp_stop(struct net_slirp *s);
void net_slirp_destroy(struct net_slirp *s);
void net_slirp_print_stats(struct net_slirp *s);

#endif
