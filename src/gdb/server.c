/*
 * The GDB stub's thread, socket and exit hook (gdb_server.h). One gdb at a
 * time: a second connection is accepted and closed at once, so its gdb says
 * so instead of hanging in the backlog.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "petrel/exitcode.h"
#include "petrel/gdb_server.h"
#include "petrel/kvm.h"
#include "petrel/sandbox.h"
#include "petrel/util.h"
#include "petrel/vm.h"

struct gdb_server {
	struct vm *vm;
	struct gdb_config cfg;
	int listen_fd, conn_fd, wake_fd;
	pthread_t thread;
	vm_exit_hook prev_hook;
	void *prev_opaque;
	struct gdb_kvm_target target;

	/* between the vCPUs' hook, main and the thread */
	pthread_mutex_t lock;
	bool ev_pending;     /* a debug exit not yet reported */
	struct gdb_stop ev;
	bool attached;       /* a gdb is connected */
	bool finish;         /* the VM is gone: end */
	int status;

	/* the thread's own */
	bool running;        /* resumed by gdb, no stop reported since */
	struct gdb_session session;
	struct gdb_rx rx;
	struct gdb_reply reply;
	char out[2 * GDB_PKT_MAX + 8];
	int out_len;
};

static void wake(struct gdb_server *g)
{
	uint64_t one = 1;

	/* an eventfd write cannot fail short of a counter overflow */
	(void)!write(g->wake_fd, &one, sizeof(one));
}

/*
 * On a vCPU's thread: a debug exit stops every vCPU and tells the stub's
 * thread; everything else goes to the hook that was there before us.
 */
static enum exit_hook_result gdb_hook(struct vcpu *v, void *opaque)
{
	struct gdb_server *g = opaque;

	if (v->run->exit_reason != KVM_EXIT_DEBUG)
		return g->prev_hook ? g->prev_hook(v, g->prev_opaque) : EXIT_HOOK_PASS;
	/* the guest's own int3 (its text patching) is the guest's business */
	if (v->run->debug.arch.exception == 3 &&
	    gdb_kvm_reinject_int3(&g->target, v, v->run->debug.arch.pc))
		return EXIT_HOOK_HANDLED;
	pthread_mutex_lock(&g->lock);
	/*
	 * The first one wins; another vCPU's at the same moment is dropped:
	 * an int3 or an instruction breakpoint hits again when that vCPU
	 * resumes, as it re-executes the instruction.
	 */
	if (!g->ev_pending) {
		g->ev = (struct gdb_stop){
			.kind = GDB_STOP_DEBUG,
			.cpu = v->id,
			.exception = v->run->debug.arch.exception,
			.dr6 = v->run->debug.arch.dr6,
			.pc = v->run->debug.arch.pc,
		};
		g->ev_pending = true;
	}
	pthread_mutex_unlock(&g->lock);
	vm_pause_from_vcpu(v);
	wake(g);
	return EXIT_HOOK_HANDLED;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void send_reply(struct gdb_server *g)
{
	int n = gdb_frame(g->reply.buf, g->reply.len, g->out, sizeof(g->out));

	/* every reply fits twice escaped; the check keeps it that way */
	if (n < 0) {
		g->reply.len = 0;
		n = gdb_frame("E01", 3, g->out, sizeof(g->out));
	}
	g->out_len = n;
	write_all(g->conn_fd, g->out, (size_t)n);
}

static void close_conn(struct gdb_server *g, const char *why)
{
	close(g->conn_fd);
	g->conn_fd = -1;
	g->running = false;
	pthread_mutex_lock(&g->lock);
	g->attached = false;
	pthread_mutex_unlock(&g->lock);
	pt_info("gdb: %s", why);
}

/* Every vCPU is parked (or the VM is stopping): tell gdb why. */
static void report_stop(struct gdb_server *g, bool interrupted)
{
	struct gdb_stop ev;
	bool have;

	/*
	 * A wake-up without an event (one a Ctrl-C already reported) must
	 * not wait for a pause nobody asked for: gdb's next Ctrl-C would
	 * find this thread deaf.
	 */
	pthread_mutex_lock(&g->lock);
	have = g->ev_pending;
	pthread_mutex_unlock(&g->lock);
	if (!have && !interrupted)
		return;
	if (vm_wait_paused(g->vm) < 0)
		return; /* the VM stops: gdb_server_finish reports it */
	pthread_mutex_lock(&g->lock);
	have = g->ev_pending;
	ev = g->ev;
	g->ev_pending = false;
	pthread_mutex_unlock(&g->lock);
	if (!have && !interrupted)
		return;
	if (!have)
		ev = (struct gdb_stop){ .kind = GDB_STOP_INTERRUPT, .cpu = g->session.stop_cpu };
	g->running = false;
	gdb_session_stopped(&g->session, &ev, &g->reply);
	send_reply(g);
}

static void accept_conn(struct gdb_server *g)
{
	int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct gdb_stop attach = { .kind = GDB_STOP_ATTACH };

	if (fd < 0)
		return;
	if (g->conn_fd >= 0) {
		close(fd); /* one gdb at a time */
		return;
	}
	if (!g->cfg.unix_socket)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	g->conn_fd = fd;
	g->out_len = 0;
	gdb_rx_init(&g->rx);
	gdb_session_init(&g->session, &gdb_kvm_ops, &g->target, g->vm->nr_vcpus);
	/* gdb expects a stopped target when it attaches */
	if (vm_pause(g->vm) < 0)
		pt_info("gdb: connected while the VM stops");
	pthread_mutex_lock(&g->lock);
	g->attached = true;
	g->ev_pending = false;
	pthread_mutex_unlock(&g->lock);
	gdb_session_stopped(&g->session, &attach, &g->reply);
	g->running = false;
	pt_info("gdb: attached; the guest is stopped");
}

/* gdb went away without detaching: leave the guest as it would be without us. */
static void drop_conn(struct gdb_server *g)
{
	if (vm_pause(g->vm) == 0) {
		pthread_mutex_lock(&g->lock);
		g->ev_pending = false;
		pthread_mutex_unlock(&g->lock);
		gdb_session_release(&g->session);
	}
	close_conn(g, "connection closed; the guest runs on");
}

/* 0, or -1 when the connection is to close (the reason already handled). */
static int handle_packet(struct gdb_server *g)
{
	if (!g->session.no_ack)
		write_all(g->conn_fd, "+", 1);
	/* in all-stop mode gdb sends nothing but Ctrl-C while the guest runs */
	if (g->running)
		return 0;
	switch (gdb_session_packet(&g->session, g->rx.buf, g->rx.len, &g->reply)) {
	case GDB_REPLY:
		send_reply(g);
		return 0;
	case GDB_RESUMED:
		g->running = true;
		return 0;
	case GDB_DETACH:
		send_reply(g);
		close_conn(g, "detached; the guest runs on");
		return -1;
	case GDB_KILLED:
		close_conn(g, "gdb killed the guest");
		return -1;
	}
	return 0;
}

static void serve_input(struct gdb_server *g)
{
	uint8_t buf[4096];
	ssize_t n = recv(g->conn_fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drop_conn(g);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		switch (gdb_rx_feed(&g->rx, buf[i])) {
		case GDB_RX_PACKET:
			if (handle_packet(g) < 0)
				return;
			break;
		case GDB_RX_BAD:
			if (!g->session.no_ack)
				write_all(g->conn_fd, "-", 1);
			break;
		case GDB_RX_NAK:
			if (g->out_len)
				write_all(g->conn_fd, g->out, (size_t)g->out_len);
			break;
		case GDB_RX_INTERRUPT:
			if (g->running && vm_pause(g->vm) == 0)
				report_stop(g, true);
			break;
		case GDB_RX_ACK:
		case GDB_RX_NONE:
			break;
		}
	}
}

/* The VM is gone: a gdb waiting for the guest hears how it ended. */
static void finish_conn(struct gdb_server *g, int status)
{
	struct gdb_stop ev = { .kind = GDB_STOP_EXITED, .status = status };

	if (g->conn_fd < 0)
		return;
	if (g->running) {
		gdb_session_stopped(&g->session, &ev, &g->reply);
		send_reply(g);
	}
	close_conn(g, "the guest exited; connection closed");
}

static void *server_thread(void *arg)
{
	struct gdb_server *g = arg;

	pthread_setname_np(pthread_self(), "gdb");
	/* before the first byte from the socket */
	if (sandbox_enter(g->vm->cfg->sandbox, SANDBOX_GDB, "gdb") < 0) {
		vm_request_stop(g->vm, EXIT_VMM_ERROR, "gdb: cannot install its seccomp filter");
		return NULL;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = g->wake_fd, .events = POLLIN },
			{ .fd = g->listen_fd, .events = POLLIN },
			{ .fd = g->conn_fd, .events = POLLIN },
		};
		bool finish, attached;
		int status;

		if (poll(p, g->conn_fd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pt_err("gdb: poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN) {
			uint64_t count;
			(void)!read(g->wake_fd, &count, sizeof(count));
			pthread_mutex_lock(&g->lock);
			finish = g->finish;
			status = g->status;
			attached = g->attached;
			pthread_mutex_unlock(&g->lock);
			if (finish) {
				finish_conn(g, status);
				break;
			}
			if (g->conn_fd >= 0 && g->running) {
				report_stop(g, false);
			} else if (!attached) {
				/* a debug exit nobody will report must not hold the guest */
				pthread_mutex_lock(&g->lock);
				g->ev_pending = false;
				pthread_mutex_unlock(&g->lock);
				vm_resume(g->vm);
			}
		}
		if (p[1].revents & POLLIN)
			accept_conn(g);
		if (g->conn_fd >= 0 && p[2].fd == g->conn_fd && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			serve_input(g);
	}
	return NULL;
}

/* A socket file nobody listens on (a petrel that died) may be replaced. */
static bool stale_socket(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;
	bool dead;

	if (fd < 0)
		return false;
	dead = lstat(a->sun_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return dead;
}

static int listen_unix(struct gdb_server *g)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *path = g->cfg.path;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path); /* cli_gdb.c checked its length */
	if ((bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	     (errno != EADDRINUSE || !stale_socket(&a) || unlink(path) < 0 ||
	      bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)) ||
	    listen(fd, 1) < 0) {
		int err = -errno;
		pt_err("gdb: cannot listen on unix:%s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	g->listen_fd = fd;
	return 0;
}

static int listen_tcp(struct gdb_server *g)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char port[8];
	int r, err = -EADDRNOTAVAIL;

	snprintf(port, sizeof(port), "%u", g->cfg.port);
	if ((r = getaddrinfo(g->cfg.host, port, &hints, &res))) {
		pt_err("gdb: tcp:%s:%s: %s", g->cfg.host, port, gai_strerror(r));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
			g->listen_fd = fd;
			break;
		}
		err = -errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (g->listen_fd < 0) {
		pt_err("gdb: cannot listen on tcp:%s:%s: %s", g->cfg.host, port, strerror(-err));
		return err;
	}
	return 0;
}

static void server_free(struct gdb_server *g)
{
	if (g->listen_fd >= 0) {
		close(g->listen_fd);
		if (g->cfg.unix_socket)
			unlink(g->cfg.path);
	}
	if (g->wake_fd >= 0)
		close(g->wake_fd);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->target.lock);
	free(g);
}

int gdb_server_start(struct gdb_server **out, struct vm *vm, const struct gdb_config *cfg)
{
	struct gdb_server *g = calloc(1, sizeof(*g));
	int caps, err;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->cfg = *cfg;
	g->listen_fd = g->conn_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	g->wake_fd = eventfd(0, EFD_CLOEXEC);
	caps = kvm_check_cap(vm->vm_fd, KVM_CAP_SET_GUEST_DEBUG2);
	g->target.vm = vm;
	g->target.guest_debug_caps = caps > 0 ? (uint32_t)caps : 0;
	pthread_mutex_init(&g->target.lock, NULL);
	if (g->wake_fd < 0) {
		err = -errno;
		pt_err("gdb: eventfd: %s", strerror(errno));
		server_free(g);
		return err;
	}
	err = cfg->unix_socket ? listen_unix(g) : listen_tcp(g);
	if (err < 0) {
		server_free(g);
		return err;
	}
	/* before any vCPU thread exists: none runs an instruction until gdb says */
	if (cfg->wait && vm_pause(vm) < 0) {
		server_free(g);
		return -ECANCELED;
	}
	g->prev_hook = vm->exit_hook;
	g->prev_opaque = vm->exit_hook_opaque;
	vm->exit_hook = gdb_hook;
	vm->exit_hook_opaque = g;
	if ((err = pthread_create(&g->thread, NULL, server_thread, g))) {
		pt_err("gdb: cannot start its thread: %s", strerror(err));
		vm->exit_hook = g->prev_hook;
		vm->exit_hook_opaque = g->prev_opaque;
		server_free(g);
		return -err;
	}
	if (cfg->unix_socket)
		pt_info("gdb: listening on %s (gdb: target remote %s)%s", cfg->path, cfg->path,
			cfg->wait ? "; the guest waits for it" : "");
	else
		pt_info("gdb: listening on %s:%u (gdb: target remote %s:%u)%s", cfg->host, cfg->port,
			strcmp(cfg->host, "127.0.0.1") ? cfg->host : "", cfg->port,
			cfg->wait ? "; the guest waits for it" : "");
	*out = g;
	return 0;
}

void gdb_server_finish(struct gdb_server *g, int status)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->finish = true;
	g->status = status;
	pthread_mutex_unlock(&g->lock);
	wake(g);
	pthread_join(g->thread, NULL);
	g->vm->exit_hook = g->prev_hook;
	g->vm->exit_hook_opaque = g->prev_opaque;
	server_free(g);
}
