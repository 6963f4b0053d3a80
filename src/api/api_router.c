/*
 * The control API's router: which endpoint a method and a path name, which
 * query keys it takes, and strict parsing of numbers and bodies. Pure: no
 * VM, no socket (tests/unit/test_api_router.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/api.h"
#include "petrel/util.h"

struct route {
	const char *method;
	const char *path;    /* "{n}" stands for a vCPU number segment */
	const char *keys[4]; /* query keys it takes, NULL-terminated */
	bool body;           /* takes a JSON object body */
};

static const struct route routes[API_NR_ENDPOINTS] = {
	[API_VM] = { "GET", "/vm", { NULL }, false },
	[API_PAUSE] = { "PUT", "/vm/pause", { NULL }, false },
	[API_RESUME] = { "PUT", "/vm/resume", { NULL }, true },
	[API_SHUTDOWN] = { "PUT", "/vm/shutdown", { NULL }, false },
	[API_QUIT] = { "PUT", "/vm/quit", { NULL }, true },
	[API_VCPUS] = { "GET", "/vcpus", { NULL }, false },
	[API_VCPU_REGS] = { "GET", "/vcpus/{n}/regs", { NULL }, false },
	[API_SLOTS] = { "GET", "/memory/slots", { NULL }, false },
	[API_MEMORY] = { "GET", "/memory", { "gpa", "gva", "vcpu", "len" }, false },
	[API_TRANSLATE] = { "GET", "/translate", { "vcpu", "gva", NULL }, false },
	[API_BUS] = { "GET", "/bus", { NULL }, false },
	[API_IRQ] = { "GET", "/irq", { NULL }, false },
	[API_STATS] = { "GET", "/stats", { NULL }, false },
	[API_FDS] = { "GET", "/fds", { NULL }, false },
	[API_THREADS] = { "GET", "/threads", { NULL }, false },
};

const char *api_endpoint_path(enum api_endpoint ep)
{
	return ep < API_NR_ENDPOINTS ? routes[ep].path : "?";
}

const char *api_endpoint_method(enum api_endpoint ep)
{
	return ep < API_NR_ENDPOINTS ? routes[ep].method : "?";
}

int api_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return -EINVAL;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *api_arg(const struct api_args *args, const char *key)
{
	for (unsigned i = 0; i < args->n; i++)
		if (!strcmp(args->key[i], key))
			return args->val[i];
	return NULL;
}

int api_arg_u64(const struct api_args *args, const char *key, bool required,
		uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	const char *s = api_arg(args, key);
	int r;

	if (!s) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: missing (a query parameter, e.g. ?%s=0x1000)", key, key);
		return 400;
	}
	r = api_parse_u64(s, max, out);
	if (r == -ERANGE) {
		snprintf(err, errlen, "%s: %.40s is out of range (at most %#" PRIx64 ")", key, s, max);
		return 400;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s: \"%.40s\" is not a number (decimal, or hex with 0x)", key, s);
		return 400;
	}
	return 0;
}

/* Whether path matches pattern; a "{n}" segment must be a number. */
static int match(const char *pattern, const char *path, unsigned *n, bool *bad_n)
{
	while (*pattern && *path) {
		if (!strncmp(pattern, "{n}", 3)) {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);
			char seg[24];
			uint64_t v;

			if (len == 0)
				return 0;
			if (len >= sizeof(seg) || (memcpy(seg, path, len), seg[len] = 0,
						   api_parse_u64(seg, UINT32_MAX, &v) < 0)) {
				*bad_n = true;
				v = 0;
			}
			*n = (unsigned)v;
			pattern += 3;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	/* one trailing slash is forgiven: /vm/ is /vm */
	if (!*pattern && path[0] == '/' && !path[1])
		return 1;
	return !*pattern && !*path;
}

static bool key_allowed(const struct route *r, const char *key)
{
	for (unsigned i = 0; i < ARRAY_SIZE(r->keys) && r->keys[i]; i++)
		if (!strcmp(r->keys[i], key))
			return true;
	return false;
}

int api_route(const struct api_request *req, struct api_call *call, char *err,
	      size_t errlen)
{
	const struct route *found = NULL, *other_method = NULL;
	unsigned n = 0;
	bool bad_n = false;

	memset(call, 0, sizeof(*call));
	for (unsigned i = 0; i < API_NR_ENDPOINTS; i++) {
		bool bad = false;
		unsigned v = 0;

		if (!match(routes[i].path, req->path ? req->path : "", &v, &bad))
			continue;
		if (strcmp(routes[i].method, req->method ? req->method : "")) {
			other_method = &routes[i];
			continue;
		}
		found = &routes[i];
		call->ep = (enum api_endpoint)i;
		n = v;
		bad_n = bad;
		break;
	}
	if (!found) {
		if (other_method) {
			snprintf(err, errlen, "%s %.100s: this path takes %s", req->method,
				 req->path, other_method->method);
			return 405;
		}
		snprintf(err, errlen, "no such endpoint: %.100s (GET /vm, /vcpus, /memory/slots, "
			 "/bus, /irq, /stats, /fds, /threads, /translate, /memory; "
			 "PUT /vm/pause, /vm/resume, /vm/shutdown, /vm/quit)",
			 req->path ? req->path : "");
		return 404;
	}
	if (bad_n) {
		snprintf(err, errlen, "%.100s: the vCPU must be a number", req->path);
		return 400;
	}
	call->vcpu = n;
	if (req->args.overflow) {
		snprintf(err, errlen, "too many query parameters (at most %d)", API_MAX_ARGS);
		return 400;
	}
	for (unsigned i = 0; i < req->args.n; i++) {
		if (!key_allowed(found, req->args.key[i])) {
			snprintf(err, errlen, "%s %s takes no query parameter \"%.40s\"",
				 found->method, found->path, req->args.key[i]);
			return 400;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(req->args.key[i], req->args.key[j])) {
				snprintf(err, errlen, "query parameter \"%.40s\" given twice",
					 req->args.key[i]);
				return 400;
			}
	}
	if (req->body_len) {
		json_error_t je;
		json_t *j;

		if (req->body_len > API_MAX_BODY) {
			snprintf(err, errlen, "body of %zu bytes: at most %d", req->body_len,
				 API_MAX_BODY);
			return 413;
		}
		j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!j) {
			snprintf(err, errlen, "malformed JSON body: %s (line %d, column %d)",
				 je.text, je.line, je.column);
			return 400;
		}
		if (!json_is_object(j)) {
			json_decref(j);
			snprintf(err, errlen, "the body must be a JSON object");
			return 400;
		}
		if (!found->body && json_object_size(j)) {
			json_decref(j);
			snprintf(err, errlen, "%s %s takes no body", found->method, found->path);
			return 400;
		}
		call->body = j;
	}
	return 0;
}

json_t *api_text(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	/* not UTF-8 (a client's bytes, a file name): '?' for every non-ASCII byte */
	if (!(copy = strdup(s)))
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *api_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:o}", "error", api_text(msg));
}
