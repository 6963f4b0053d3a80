/*
 * libFuzzer target for the user-mode network backend (src/net/slirp.c) with
 * the real libslirp behind it: guest frames in (slirp_transmit: the gather,
 * the software checksum, slirp_input) and slirp's answers out (its queue,
 * the flush to the device, the pause while the guest has no buffers), on a
 * real I/O thread (evloop) as petrel runs it.
 *
 * Safety: the frames are random, and slirp turns guest TCP/UDP/ICMP into
 * host sockets to the addresses they name. The target therefore moves the
 * whole process into a network namespace of its own before it runs
 * anything (unshare(CLONE_NEWNET): root, as make test is; it refuses to run
 * otherwise), where no interface is up: no packet can leave the process.
 *
 * Input: records; op % 3 ==
 *   0  a frame: u8 flags (bit 0: NEEDS_CSUM), u16 csum_start, u16
 *      csum_offset, u16 len (all LE), then len bytes (cut at the input's
 *      end) sent as the device would: the header only when
 *      net_hdr_check_tx accepts it with CSUM, as virtio-net checks it
 *   1  the guest's receive buffers: u8, bit 0 set = it has room (the port
 *      takes frames), clear = it has none (the port refuses them); going
 *      from none to room calls the backend's rx_ready, as a kick does
 *   2  wait until the I/O thread has handed on what slirp queued
 * Seeds (tests/fuzz/corpus/fuzz_slirp/): DHCP discover, ARP for the
 * gateway, ICMP echo, DNS query, TCP SYN, written by hand.
 *
 * Checked: every frame the guest gets is a whole Ethernet frame with only
 * DATA_VALID in its header; after the port refused a frame the backend
 * calls receive again only after rx_ready; rx_flush follows only receives
 * that took a frame; tx_ready and link are never called (slirp never
 * answers -EAGAIN); frames and slirp's state are freed (LeakSanitizer);
 * petrel touches no memory it does not own (ASan).
 */
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "petrel/config.h"
#include "petrel/evloop.h"
#include "petrel/net_backend.h"
#include "petrel/net_hdr.h"
#include "petrel/net_slirp.h"
#include "petrel/util.h"

#include "fuzz_check.h"

struct fz {
	struct evloop loop;
	int barrier_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t barriers;      /* barrier callbacks run */
	/*
	 * The guest's buffers change on the I/O thread, as a kick does there:
	 * receive and rx_ready are then ordered, and so is the check.
	 */
	struct net_backend be;
	int room_req;           /* -1 none, else the room to set (under lock) */
	atomic_bool room;       /* the port takes frames */
	atomic_bool refused;    /* the port refused one: no receive before rx_ready */
	atomic_uint taken;      /* since the last rx_flush */
	atomic_ullong frames;
};

static struct fz *fz;

static int port_receive(void *dev, const struct virtio_net_hdr_v1 *hdr,
			const uint8_t *frame, size_t len)
{
	struct fz *z = dev;
	const struct virtio_net_hdr_v1 want = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };

	CHECK(!atomic_load(&z->refused));
	CHECK(!memcmp(hdr, &want, sizeof(want)));
	CHECK(len >= NET_FRAME_MIN && len <= NET_FRAME_MAX);
	CHECK(frame[0] | frame[len - 1] | 1); /* the whole frame is readable (ASan) */
	if (!atomic_load(&z->room)) {
		atomic_store(&z->refused, true);
		return 0;
	}
	atomic_fetch_add(&z->taken, 1);
	atomic_fetch_add(&z->frames, 1);
	return 1;
}

static void port_flush(void *dev)
{
	struct fz *z = dev;

	CHECK(atomic_exchange(&z->taken, 0) > 0);
}

static void port_tx_ready(void *dev)
{
	(void)dev;
	CHECK(0);
}

static void port_link(void *dev, bool up)
{
	(void)dev, (void)up;
	CHECK(0);
}

static void barrier_cb(void *opaque, uint32_t events)
{
	struct fz *z = opaque;
	uint64_t v;

	(void)events;
	if (read(z->barrier_fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&z->lock);
	if (z->room_req == 1 && !atomic_exchange(&z->room, true)) {
		atomic_store(&z->refused, false);
		z->be.ops->rx_ready(z->be.be);
	} else if (z->room_req == 0) {
		atomic_store(&z->room, false);
	}
	z->room_req = -1;
	z->barriers++;
	pthread_cond_broadcast(&z->cond);
	pthread_mutex_unlock(&z->lock);
}

/* Twice through the loop: what was ready before is handled by then. */
static void settle(struct fz *z)
{
	for (int i = 0; i < 2; i++) {
		uint64_t one = 1, want;

		pthread_mutex_lock(&z->lock);
		want = z->barriers + 1;
		pthread_mutex_unlock(&z->lock);
		CHECK(write(z->barrier_fd, &one, sizeof(one)) == sizeof(one));
		pthread_mutex_lock(&z->lock);
		while (z->barriers < want)
			pthread_cond_wait(&z->cond, &z->lock);
		pthread_mutex_unlock(&z->lock);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "fuzz_slirp: unshare(CLONE_NEWNET): %s: it runs only in a network "
				"namespace of its own (as root), so that no frame reaches a network\n",
			strerror(errno));
		exit(1);
	}
	/* one reference for the whole run: libslirp and GLib stay loaded */
	if (!dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL)) {
		fprintf(stderr, "fuzz_slirp: %s (Debian: libslirp0)\n", dlerror());
		exit(1);
	}
	fz = calloc(1, sizeof(*fz));
	CHECK(fz);
	pthread_mutex_init(&fz->lock, NULL);
	pthread_cond_init(&fz->cond, NULL);
	fz->barrier_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(fz->barrier_fd >= 0 && evloop_init(&fz->loop) == 0);
	CHECK(evloop_add(&fz->loop, fz->barrier_fd, EPOLLIN, barrier_cb, fz) == 0);
	CHECK(evloop_start(&fz->loop, "fuzz-io") == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_config nc = { .kind = NET_USER, .fd = -1 };
	struct net_port port = { port_receive, port_flush, port_tx_ready, port_link, fz };
	struct net_slirp *sl;
	struct net_backend be;
	size_t i = 0;

	atomic_store(&fz->room, true);
	atomic_store(&fz->refused, false);
	atomic_store(&fz->taken, 0);
	fz->room_req = -1;
	CHECK(net_slirp_create(&sl, &nc) == 0);
	be = net_slirp_backend(sl);
	fz->be = be;
	CHECK(be.offloads == 0 && net_slirp_start(sl, port, &fz->loop) == 0);
	while (i < size) {
		uint8_t op = data[i++];

		switch (op % 3) {
		case 0: {
			struct virtio_net_hdr_v1 h = { 0 };
			struct iovec iov[2];
			size_t len, half;

			if (size - i < 7)
				goto out;
			h.flags = data[i] & 1;
			h.csum_start = htole16((uint16_t)(data[i + 1] | data[i + 2] << 8));
			h.csum_offset = htole16((uint16_t)(data[i + 3] | data[i + 4] << 8));
			len = MIN((size_t)(data[i + 5] | data[i + 6] << 8), size - i - 7);
			i += 7;
			if (net_hdr_check_tx(&h, len, 1ULL << VIRTIO_NET_F_CSUM) != NET_HDR_OK)
				memset(&h, 0, sizeof(h));
			/* two pieces, as a chain of two buffers */
			half = len / 2;
			iov[0] = (struct iovec){ (void *)(data + i), half };
			iov[1] = (struct iovec){ (void *)(data + i + half), len - half };
			CHECK(be.ops->transmit(be.be, &h, iov, 2, len) == 0);
			i += len;
			break;
		}
		case 1:
			if (i >= size)
				goto out;
			pthread_mutex_lock(&fz->lock);
			fz->room_req = data[i++] & 1;
			pthread_mutex_unlock(&fz->lock);
			settle(fz);
			break;
		case 2:
			settle(fz);
			break;
		}
	}
out:
	settle(fz);
	net_slirp_stop(sl);
	net_slirp_destroy(sl);
	return 0;
}
