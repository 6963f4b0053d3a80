/*
 * The libslirp backend on a real I/O thread (evloop), with a fake device
 * port: a DHCP DISCOVER the guest sends is answered with an OFFER of
 * 10.0.2.15 (slirp's timers, its queue and the loop all take part); an
 * ARP request for the gateway is answered with a reply; while the port has
 * no buffers the answer waits, and comes once rx_ready says so; a host
 * forward on a port already in use is refused with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "petrel/net_hdr.h"
#include "petrel/net_slirp.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

struct port {
	pthread_mutex_t lock;
	uint8_t frames[8][2048];
	size_t lens[8];
	unsigned n;
	int accept; /* 0: no buffers now */
	unsigned refused, flushes;
};

static int port_receive(void *dev, const struct virtio_net_hdr_v1 *hdr, const uint8_t *frame,
			size_t len)
{
	struct port *p = dev;
	int r = 1;

	assert_non_null(hdr);
	pthread_mutex_lock(&p->lock);
	if (!p->accept) {
		p->refused++;
		r = 0;
	} else if (p->n < 8 && len <= sizeof(p->frames[0])) {
		memcpy(p->frames[p->n], frame, len);
		p->lens[p->n++] = len;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void port_flush(void *dev)
{
	struct port *p = dev;

	pthread_mutex_lock(&p->lock);
	p->flushes++;
	pthread_mutex_unlock(&p->lock);
}

static void port_nop(void *dev)
{
	(void)dev;
}

static void port_link(void *dev, bool up)
{
	(void)dev, (void)up;
}

struct fixture {
	struct evloop loop;
	struct net_slirp *sl;
	struct net_backend be;
	struct port p;
};

static struct fixture fx;

static int setup(void **state)
{
	struct net_config nc = { .kind = NET_USER, .fd = -1 };

	(void)state;
	memset(&fx, 0, sizeof(fx));
	pthread_mutex_init(&fx.p.lock, NULL);
	fx.p.accept = 1;
	if (evloop_init(&fx.loop) || evloop_start(&fx.loop, "test-io") ||
	    net_slirp_create(&fx.sl, &nc))
		return -1;
	fx.be = net_slirp_backend(fx.sl);
	struct net_port port = { port_receive, port_flush, port_nop, port_link, &fx.p };
	return net_slirp_start(fx.sl, port, &fx.loop);
}

static int teardown(void **state)
{
	(void)state;
	net_slirp_stop(fx.sl);
	evloop_stop(&fx.loop);
	net_slirp_destroy(fx.sl);
	evloop_destroy(&fx.loop);
	pthread_mutex_destroy(&fx.p.lock);
	return 0;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* a DHCP DISCOVER from mac, broadcast; returns its length */
static size_t dhcp_discover(uint8_t *f)
{
	const size_t bootp = 548, udp = 8 + bootp, ip = 20 + udp;
	uint8_t *iph = f + 14, *u = iph + 20, *b = u + 8;

	memset(f, 0, 14 + ip);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	iph[0] = 0x45;
	iph[2] = (uint8_t)(ip >> 8);
	iph[3] = (uint8_t)ip;
	iph[8] = 64;
	iph[9] = 17;
	memset(iph + 16, 0xff, 4);
	uint16_t c = ip_csum(iph, 20);
	iph[10] = (uint8_t)(c >> 8);
	iph[11] = (uint8_t)c;
	u[1] = 68;
	u[3] = 67;
	u[4] = (uint8_t)(udp >> 8);
	u[5] = (uint8_t)udp;
	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	memcpy(b + 4, "\x12\x34\x56\x78", 4); /* xid */
	memcpy(b + 28, mac, 6);
	memcpy(b + 236, "\x63\x82\x53\x63", 4);
	b[240] = 53; /* DHCP message type: DISCOVER */
	b[241] = 1;
	b[242] = 1;
	b[243] = 255;
	return 14 + ip;
}

static void send_frame(const uint8_t *f, size_t len)
{
	struct virtio_net_hdr_v1 h = { 0 };
	struct iovec iov = { (void *)f, len };

	/* as the device calls it: on the I/O thread's behalf, one at a time */
	assert_int_equal(fx.be.ops->transmit(fx.be.be, &h, &iov, 1, len), 0);
}

/* waits up to 5 s for n frames to have arrived */
static bool wait_frames(unsigned n)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&fx.p.lock);
		bool done = fx.p.n >= n;
		pthread_mutex_unlock(&fx.p.lock);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

/* the first frame that is IPv4/UDP from port 67 */
static const uint8_t *find_dhcp(size_t *len)
{
	for (unsigned i = 0; i < fx.p.n; i++) {
		const uint8_t *f = fx.p.frames[i];

		if (fx.p.lens[i] > 14 + 20 + 8 + 240 && f[12] == 8 && f[13] == 0 && f[23] == 17 &&
		    f[34] == 0 && f[35] == 67) {
			*len = fx.p.lens[i];
			return f;
		}
	}
	return NULL;
}

static void test_dhcp(void **state)
{
	uint8_t f[1024];
	size_t len;

	(void)state;
	send_frame(f, dhcp_discover(f));
	assert_true(wait_frames(1));
	pthread_mutex_lock(&fx.p.lock);
	const uint8_t *o = find_dhcp(&len);
	assert_non_null(o);
	/* to the client's MAC or broadcast, from slirp's own */
	assert_true(!memcmp(o, mac, 6) || !memcmp(o, "\xff\xff\xff\xff\xff\xff", 6));
	assert_memory_not_equal(o + 6, mac, 6);
	assert_memory_equal(o + 42 + 4, "\x12\x34\x56\x78", 4); /* its xid */
	assert_memory_equal(o + 42 + 16, "\x0a\x00\x02\x0f", 4); /* yiaddr 10.0.2.15 */
	assert_int_equal(o[42 + 240], 53);
	assert_int_equal(o[42 + 242], 2); /* OFFER */
	assert_true(fx.p.flushes > 0);
	pthread_mutex_unlock(&fx.p.lock);
}

static size_t arp_request(uint8_t *f)
{
	memset(f, 0, 42);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, "\x0a\x00\x02\x0f", 4);
	memcpy(f + 38, "\x0a\x00\x02\x02", 4);
	return 42;
}

/* No buffers: the reply waits in the backend until rx_ready. */
static void test_arp_held(void **state)
{
	uint8_t f[64];

	(void)state;
	pthread_mutex_lock(&fx.p.lock);
	fx.p.accept = 0;
	pthread_mutex_unlock(&fx.p.lock);
	send_frame(f, arp_request(f));
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&fx.p.lock);
		unsigned r = fx.p.refused;
		pthread_mutex_unlock(&fx.p.lock);
		if (r)
			break;
		usleep(10000);
	}
	usleep(100000);
	pthread_mutex_lock(&fx.p.lock);
	assert_int_equal(fx.p.n, 0);
	/* offered once, then it waits: no spinning */
	assert_int_equal(fx.p.refused, 1);
	fx.p.accept = 1;
	pthread_mutex_unlock(&fx.p.lock);
	fx.be.ops->rx_ready(fx.be.be);
	assert_true(wait_frames(1));
	pthread_mutex_lock(&fx.p.lock);
	const uint8_t *r = fx.p.frames[0];
	assert_int_equal(r[12], 0x08);
	assert_int_equal(r[13], 0x06);
	assert_int_equal(r[21], 2); /* reply */
	assert_memory_equal(r + 28, "\x0a\x00\x02\x02", 4);
	assert_memory_equal(r + 32, mac, 6);
	pthread_mutex_unlock(&fx.p.lock);
}

static void test_hostfwd_in_use(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct net_slirp *sl2;
	struct net_config nc = { .kind = NET_USER, .fd = -1, .nr_fwd = 1 };

	(void)state;
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	nc.fwd[0] = (struct hostfwd_config){ .host_addr = htonl(INADDR_LOOPBACK),
					     .host_port = ntohs(a.sin_port),
					     .guest_addr = htonl(0x0a00020f), .guest_port = 22 };
	assert_true(net_slirp_create(&sl2, &nc) < 0);
	close(s);
	/* free now: it works */
	assert_int_equal(net_slirp_create(&sl2, &nc), 0);
	net_slirp_destroy(sl2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dhcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_held, setup, teardown),
		cmocka_unit_test(test_hostfwd_in_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
