/*
 * The control API's socket and HTTP server. The socket is petrel's own
 * (made before /dev/kvm opens, so a bad path is said at once; 0600 by
 * umask before bind; removed at exit); libmicrohttpd serves it from one
 * thread of its own ("api"), given the listening fd. libmicrohttpd is
 * loaded with dlopen when a VM asks for --api-socket: linked, Debian's
 * build maps GnuTLS and its five libraries into every petrel, API or not.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <microhttpd.h>

#include "petrel/api.h"
#include "petrel/sandbox.h"
#include "petrel/vm.h"
#include "petrel/util.h"

int api_socket_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pt_err("--api-socket %s: longer than a Unix socket path may be (%zu bytes)",
		       path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	if (stat(dirname(dir), &st) < 0 || !S_ISDIR(st.st_mode)) {
		pt_err("--api-socket %s: the directory %s %s", path, dir,
		       errno == ENOENT || !S_ISDIR(st.st_mode) ? "does not exist" : strerror(errno));
		return -ENOENT;
	}
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			pt_err("--api-socket %s: exists and is not a socket (not replaced)", path);
			return -EEXIST;
		}
		/* a socket file: live if someone accepts on it, else stale */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			pt_err("--api-socket %s: another process is serving it (another petrel?)", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) < 0 && errno != ENOENT) {
			err = -errno;
			pt_err("--api-socket %s: cannot remove the stale socket: %s", path,
			       strerror(-err));
			return err;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pt_err("--api-socket: socket: %s", strerror(-err));
		return err;
	}
	/* no moment where the socket exists with looser permissions */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!err && listen(fd, 16) < 0) {
		err = -errno;
		unlink(path);
	}
	if (err) {
		pt_err("--api-socket %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* The libmicrohttpd calls petrel makes, from dlsym. */
struct mhd_lib {
	void *handle;
	struct MHD_Daemon *(*start)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
				    MHD_AccessHandlerCallback, void *, ...);
	void (*stop)(struct MHD_Daemon *);
	int (*get_values)(struct MHD_Connection *, enum MHD_ValueKind, MHD_KeyValueIterator,
			  void *);
	struct MHD_Response *(*create)(size_t, void *, enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_header)(struct MHD_Response *, const char *, const char *);
	enum MHD_Result (*queue)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
	void (*destroy)(struct MHD_Response *);
};

struct api_server {
	struct mhd_lib mhd;
	struct MHD_Daemon *daemon;
	struct api_ctx *ctx;
	atomic_int connections;
	int launch_err; /* the launcher thread's sandbox_enter */
	pthread_mutex_t lock; /* one request at a time, whatever MHD does */
};

/* One request's body, gathered over the handler's calls. */
struct upload {
	size_t len;
	bool too_big;
	char buf[API_MAX_BODY + 1];
};

static int mhd_load(struct mhd_lib *l)
{
	static const char *const names[] = {
		"MHD_start_daemon", "MHD_stop_daemon", "MHD_get_connection_values",
		"MHD_create_response_from_buffer", "MHD_add_response_header",
		"MHD_queue_response", "MHD_destroy_response",
	};
	void *syms[ARRAY_SIZE(names)];

	memset(l, 0, sizeof(*l));
	l->handle = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		pt_err("--api-socket needs libmicrohttpd (Debian: apt-get install libmicrohttpd12): %s",
		       dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!(syms[i] = dlsym(l->handle, names[i]))) {
			pt_err("--api-socket: libmicrohttpd.so.12 has no %s", names[i]);
			dlclose(l->handle);
			l->handle = NULL;
			return -ENOENT;
		}
	/* POSIX: a dlsym result converts to a function pointer (XSH 2.12.3) */
	memcpy(&l->start, &syms[0], sizeof(void *));
	memcpy(&l->stop, &syms[1], sizeof(void *));
	memcpy(&l->get_values, &syms[2], sizeof(void *));
	memcpy(&l->create, &syms[3], sizeof(void *));
	memcpy(&l->add_header, &syms[4], sizeof(void *));
	memcpy(&l->queue, &syms[5], sizeof(void *));
	memcpy(&l->destroy, &syms[6], sizeof(void *));
	return 0;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct api_args *a = cls;

	(void)kind;
	if (a->n == API_MAX_ARGS) {
		a->overflow = true;
		return MHD_NO;
	}
	a->key[a->n] = key;
	a->val[a->n] = value ? value : ""; /* "?gva" alone: an empty value */
	a->n++;
	return MHD_YES;
}

static enum MHD_Result reply(struct api_server *s, struct MHD_Connection *conn, int status,
			     json_t *body)
{
	char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len;

	json_decref(body);
	if (!text)
		return MHD_NO;
	len = strlen(text);
	text[len] = 0;
	/* a final newline, for curl at a shell */
	char *with_nl = realloc(text, len + 2);
	if (with_nl) {
		text = with_nl;
		text[len++] = '\n';
		text[len] = 0;
	}
	r = s->mhd.create(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	s->mhd.add_header(r, "Content-Type", "application/json");
	ret = s->mhd.queue(conn, (unsigned)status, r);
	s->mhd.destroy(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct upload *u = *con_cls;
	struct api_request req = { .method = method, .path = url };
	json_t *out = NULL;
	int status;

	(void)version;
	if (!u) { /* the headers are in: the body (if any) comes next */
		pthread_setname_np(pthread_self(), "api");
		sandbox_adopt(SANDBOX_API, "api");
		/* the test aid runs here, on libmicrohttpd's own thread */
		sandbox_selftest(s->ctx->vm->cfg->sandbox, SANDBOX_API);
		if (!(u = calloc(1, sizeof(*u))))
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (u->len + *upload_data_size > API_MAX_BODY)
			u->too_big = true;
		else
			memcpy(u->buf + u->len, upload_data, *upload_data_size);
		if (!u->too_big)
			u->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (u->too_big)
		return reply(s, conn, 413, api_error("the body is larger than %d bytes", API_MAX_BODY));
	s->mhd.get_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req.args);
	req.body = u->buf;
	req.body_len = u->len;
	pthread_mutex_lock(&s->lock);
	status = api_dispatch(s->ctx, &req, &out);
	pthread_mutex_unlock(&s->lock);
	return reply(s, conn, status, out);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct api_server *s = cls;

	(void)conn, (void)socket_context;
	atomic_fetch_add(&s->connections, toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/*
 * libmicrohttpd makes its thread inside MHD_start_daemon, with no hook of
 * ours on that thread. So a short-lived thread installs the API filter and
 * calls MHD_start_daemon: the thread it makes inherits that filter (and
 * only it: the launcher's creator, main, has none yet). The library was
 * loaded (dlopen) before, while main could still open files.
 */
static void *launcher(void *arg)
{
	struct api_server *s = arg;
	const struct api_ctx *ctx = s->ctx;

	pthread_setname_np(pthread_self(), "api");
	if ((s->launch_err = sandbox_enter(ctx->vm->cfg->sandbox, SANDBOX_API, "api")) < 0)
		return NULL;
	s->daemon = s->mhd.start(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				 handle, s, MHD_OPTION_LISTEN_SOCKET, ctx->listen_fd,
				 MHD_OPTION_NOTIFY_COMPLETED, completed, s,
				 MHD_OPTION_NOTIFY_CONNECTION, notify, s,
				 MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				 MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_END);
	return NULL;
}

static int launch(struct api_server *s)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, launcher, s);

	if (err) {
		pt_err("--api-socket: cannot start the API thread: %s", strerror(err));
		return -err;
	}
	pthread_join(t, NULL);
	return s->launch_err;
}

int api_server_start(struct api_server **out, struct api_ctx *ctx)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	if ((err = mhd_load(&s->mhd)) < 0) {
		free(s);
		return err;
	}
	/*
	 * What the API thread would otherwise open on its first request:
	 * jansson's hash seed (/dev/urandom). (The time zone: sandbox_init.)
	 */
	json_object_seed(0);
	if ((err = launch(s)) < 0) {
		dlclose(s->mhd.handle);
		free(s);
		return err;
	}
	if (!s->daemon) {
		pt_err("--api-socket %s: libmicrohttpd did not start", ctx->socket_path);
		dlclose(s->mhd.handle);
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/* an answer in flight (PUT /vm/quit's) goes out first: at most 1 s */
	for (int i = 0; i < 100 && atomic_load(&s->connections) > 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	s->mhd.stop(s->daemon); /* closes the listening fd it was given */
	unlink(s->ctx->socket_path);
	s->ctx->listen_fd = -1;
	dlclose(s->mhd.handle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
