/*
 * The control API: HTTP/1.1 with JSON on a Unix socket (--api-socket PATH),
 * so that `curl --unix-socket PATH http://localhost/vm` works. It talks to
 * the VM only through the control interface of vm.h (pause, resume, stop,
 * vcpu_call_parked) and reads what any thread may read (buses, memslots,
 * counters, /proc/self). Its thread never sits on a vCPU's path: a request
 * that needs a vCPU's registers reads them while that vCPU is parked.
 *
 * Split so that the routing and the JSON can be tested without a socket:
 *   api_router.c   method + path + query + body -> endpoint, checked args
 *   api_vm.c ...   endpoints: a request -> HTTP status + JSON body
 *   api_server.c   the socket (made before /dev/kvm opens) and
 *                  libmicrohttpd, loaded with dlopen only when a VM asks
 *                  for --api-socket (linked, it maps GnuTLS and five more
 *                  libraries into every petrel)
 *   api_ctl.c      `petrel ctl`, the client
 */
#ifndef PETREL_API_H
#define PETREL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct vm;

enum api_endpoint {
	API_VM,           /* GET  /vm */
	API_PAUSE,        /* PUT  /vm/pause */
	API_RESUME,       /* PUT  /vm/resume     body: {"vcpus": [N, ...]} (optional) */
	API_SHUTDOWN,     /* PUT  /vm/shutdown   the ACPI power button */
	API_QUIT,         /* PUT  /vm/quit       body: {"status": N} (optional) */
	API_VCPUS,        /* GET  /vcpus */
	API_VCPU_REGS,    /* GET  /vcpus/N/regs  (paused only) */
	API_SLOTS,        /* GET  /memory/slots */
	API_MEMORY,       /* GET  /memory?gpa=X&len=N | ?vcpu=N&gva=X&len=N */
	API_TRANSLATE,    /* GET  /translate?vcpu=N&gva=X */
	API_BUS,          /* GET  /bus */
	API_IRQ,          /* GET  /irq */
	API_STATS,        /* GET  /stats */
	API_FDS,          /* GET  /fds */
	API_THREADS,      /* GET  /threads */
	API_NR_ENDPOINTS
};

#define API_MAX_ARGS 8
#define API_MAX_MEMORY_READ 4096 /* bytes one GET /memory returns at most */
#define API_MAX_BODY 4096

/* The query string, decoded (libmicrohttpd does the %-decoding). */
struct api_args {
	unsigned n;
	const char *key[API_MAX_ARGS];
	const char *val[API_MAX_ARGS];
	bool overflow; /* more than API_MAX_ARGS were given */
};

struct api_request {
	const char *method;
	const char *path;
	struct api_args args;
	const char *body; /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* What the router made of a request. */
struct api_call {
	enum api_endpoint ep;
	unsigned vcpu;     /* API_VCPU_REGS: the N of the path */
	json_t *body;      /* a JSON object (owned), or NULL without a body */
};

/*
 * Routes req: 0 with *call filled (release call->body with json_decref),
 * or an HTTP error status (404 unknown path, 405 a known path with another
 * method, 400 a bad query key, a path number or a body that is not a JSON
 * object) with err set.
 */
int api_route(const struct api_request *req, struct api_call *call, char *err,
	      size_t errlen);
/* The path and method of an endpoint (for `petrel ctl` and messages). */
const char *api_endpoint_path(enum api_endpoint ep);
const char *api_endpoint_method(enum api_endpoint ep);

/* The value of key in args, or NULL. */
const char *api_arg(const struct api_args *args, const char *key);
/*
 * A number: decimal, or hex with 0x; no sign, no trailing text, at most
 * max. 0 (also when absent and !required: *out untouched), or 400 with
 * err ("gva: not a number", "len: 9000 is out of range (at most 4096)").
 */
int api_arg_u64(const struct api_args *args, const char *key, bool required,
		uint64_t max, uint64_t *out, char *err, size_t errlen);
/* The same for a string already in hand (a path segment). */
int api_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Everything an endpoint may reach. */
struct api_ctx {
	struct vm *vm;
	const char *socket_path;
	int listen_fd;      /* named in /fds */
};

/*
 * Runs one request: the HTTP status, and in *out the JSON body (errors are
 * {"error": "..."}). Never stops the VM unless asked to (quit, shutdown).
 */
int api_dispatch(struct api_ctx *ctx, const struct api_request *req, json_t **out);
/* A JSON string of s, non-UTF-8 bytes made '?' (jansson takes only UTF-8);
 * null for NULL. */
json_t *api_text(const char *s);
/* {"error": msg}: the body of every 4xx/5xx. */
json_t *api_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The socket and the server (api_server.c). */
struct api_server;
/*
 * Creates, binds (0600) and listens on path; a stale socket left there is
 * replaced, a live one or a bad directory is an error (printed). Called
 * before /dev/kvm opens. The fd, or -errno.
 */
int api_socket_open(const char *path);
/* Serves ctx's VM on fd from a thread of libmicrohttpd's. 0 or -errno. */
int api_server_start(struct api_server **out, struct api_ctx *ctx);
/* Stops serving (lets an answer in flight go out first), closes the fd,
 * removes the socket file. NULL is fine. */
void api_server_stop(struct api_server *s);

/* `petrel ctl SOCKET COMMAND [ARGS] [--json]`: the exit status. */
int api_ctl_main(int argc, char **argv);
const char *api_ctl_help(void);

#endif
