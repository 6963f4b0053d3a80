/*
 * `petrel ctl SOCKET COMMAND [ARGS] [--json]`: the control API's client.
 * A plain Unix socket and a minimal HTTP/1.1 request (one request per
 * connection, "Connection: close"); the answer's JSON is parsed with
 * jansson and printed as tables for people, or as it came with --json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "petrel/api.h"
#include "petrel/exitcode.h"

#define MAX_ANSWER (8u << 20)

static const char ctl_help[] =
	"usage: petrel ctl SOCKET COMMAND [ARGS] [--json]\n"
	"\n"
	"Talks to the control API of a petrel started with --api-socket SOCKET.\n"
	"Prints tables; --json prints the API's JSON answer unchanged.\n"
	"\n"
	"commands:                          (the HTTP request it makes)\n"
	"  info                             GET /vm\n"
	"  pause                            PUT /vm/pause: every vCPU leaves the guest\n"
	"  resume [VCPU...]                 PUT /vm/resume: all, or only those vCPUs\n"
	"  shutdown                         PUT /vm/shutdown: press the ACPI power button\n"
	"  quit [STATUS]                    PUT /vm/quit: stop the VM now (default status 5)\n"
	"  vcpus                            GET /vcpus: thread, state, RIP, mode of each\n"
	"  regs VCPU                        GET /vcpus/VCPU/regs (the VM must be paused)\n"
	"  slots                            GET /memory/slots: KVM memslots, GPA -> HVA\n"
	"  bus                              GET /bus: PIO and MMIO ranges, devices, counts\n"
	"  irq                              GET /irq: irqchip, IOAPIC table, MSI routes\n"
	"  translate VCPU GVA               GET /translate: GVA -> GPA -> HVA -> host frame\n"
	"  mem gpa ADDR [LEN]               GET /memory: guest memory by physical address\n"
	"  mem gva ADDR [LEN [VCPU]]        ... by virtual address (VCPU's page tables)\n"
	"  stats                            GET /stats: exit counters, start times\n"
	"  fds                              GET /fds: petrel's open files, each explained\n"
	"  threads                          GET /threads: petrel's threads, each explained\n"
	"Numbers are decimal or 0x-prefixed hex; LEN is at most 4096.\n"
	"\n"
	"exit status: 0 on a 2xx answer, 1 on an error answer or no connection,\n"
	"2 on a usage error.\n";

const char *api_ctl_help(void)
{
	return ctl_help;
}

/* Only numbers go into a URL: no escaping needed, nothing injected. */
static bool plain(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static int request(const char *sock, const char *method, const char *path,
		   const char *body, int *status, json_t **answer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t blen = body ? strlen(body) : 0, len = 0, cap = 65536;
	char head[1024], *buf = NULL, *p;
	json_error_t je;
	ssize_t n;
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "petrel ctl: %s: path too long for a Unix socket\n", sock);
		return -1;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "petrel ctl: cannot connect to %s: %s (is petrel running with "
			"--api-socket %s?)\n", sock, strerror(errno), sock);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int hl = snprintf(head, sizeof(head),
			  "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			  method, path, blen);
	if (write(fd, head, (size_t)hl) != hl || (blen && write(fd, body, blen) != (ssize_t)blen))
		goto io_error;
	if (!(buf = malloc(cap + 1)))
		goto io_error;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *bigger;
			if (cap >= MAX_ANSWER || !(bigger = realloc(buf, 2 * cap + 1)))
				goto io_error;
			buf = bigger;
			cap *= 2;
		}
	}
	if (n < 0)
		goto io_error;
	close(fd);
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1 || !(p = strstr(buf, "\r\n\r\n"))) {
		fprintf(stderr, "petrel ctl: %s did not answer in HTTP\n", sock);
		free(buf);
		return -1;
	}
	p += 4;
	*answer = json_loadb(p, len - (size_t)(p - buf), 0, &je);
	free(buf);
	if (!*answer) {
		fprintf(stderr, "petrel ctl: the answer (HTTP %d) is not JSON: %s\n", *status, je.text);
		return -1;
	}
	return 0;
io_error:
	fprintf(stderr, "petrel ctl: talking to %s: %s\n", sock, strerror(errno));
	free(buf);
	close(fd);
	return -1;
}

/* A value in a table cell or after "key: ". */
static char *cell(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_null(v))
		return strdup("-");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

/* Whether every element is an object with the keys of the first, in order. */
static bool uniform(json_t *a)
{
	json_t *first = json_array_get(a, 0), *o;
	size_t i;

	if (!json_is_object(first))
		return false;
	json_array_foreach(a, i, o) {
		const char *k;
		json_t *v;
		void *it = json_object_iter(first);

		if (!json_is_object(o) || json_object_size(o) != json_object_size(first))
			return false;
		json_object_foreach(o, k, v) {
			if (!it || strcmp(k, json_object_iter_key(it)))
				return false;
			it = json_object_iter_next(first, it);
		}
	}
	return true;
}

static void print_table(json_t *a, int indent)
{
	json_t *first = json_array_get(a, 0), *o, *v;
	size_t cols = json_object_size(first), rows = json_array_size(a), i, c;
	size_t *w = calloc(cols, sizeof(*w));
	const char *k;

	if (!w)
		return;
	c = 0;
	json_object_foreach(first, k, v)
		w[c++] = strlen(k);
	json_array_foreach(a, i, o) {
		c = 0;
		json_object_foreach(o, k, v) {
			char *s = cell(v);
			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
			free(s);
			c++;
		}
	}
	printf("%*s", indent, "");
	c = 0;
	json_object_foreach(first, k, v) {
		if (c + 1 < cols)
			printf("%-*s  ", (int)w[c], k);
		else
			printf("%s\n", k);
		c++;
	}
	for (i = 0; i < rows; i++) {
		printf("%*s", indent, "");
		c = 0;
		json_object_foreach(json_array_get(a, i), k, v) {
			char *s = cell(v);
			if (c + 1 < cols) /* the last column unpadded: no trailing blanks */
				printf("%-*s  ", (int)w[c], s ? s : "?");
			else
				printf("%s\n", s ? s : "?");
			free(s);
			c++;
		}
	}
	free(w);
}

static void print_value(const char *key, json_t *v, int indent)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		if (key)
			printf("%*s%s:\n", indent, "", key);
		json_object_foreach(v, k, x)
			print_value(k, x, key ? indent + 2 : indent);
	} else if (json_is_array(v) && json_array_size(v) && uniform(v)) {
		if (key)
			printf("%*s%s:\n", indent, "", key);
		print_table(v, key ? indent + 2 : indent);
	} else if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0))) {
		size_t i;
		json_t *o;
		if (key)
			printf("%*s%s:\n", indent, "", key);
		json_array_foreach(v, i, o) {
			printf("%*s- ", key ? indent + 2 : indent, "");
			char *s = NULL;
			const char *k;
			json_t *x;
			bool first = true;
			if (!json_is_object(o)) {
				s = cell(o);
				printf("%s\n", s ? s : "?");
				free(s);
				continue;
			}
			json_object_foreach(o, k, x) {
				s = cell(x);
				printf("%s%s: %s", first ? "" : ", ", k, s ? s : "?");
				free(s);
				first = false;
			}
			printf("\n");
		}
	} else {
		char *s = cell(v);
		printf("%*s%s: %s\n", indent, "", key ? key : "value", s ? s : "?");
		free(s);
	}
}

static int usage(const char *msg)
{
	fprintf(stderr, "petrel ctl: %s (see petrel ctl --help)\n", msg);
	return EXIT_USAGE;
}

int api_ctl_main(int argc, char **argv)
{
	const char *args[8], *method = "GET";
	char path[256], body[512] = "";
	bool json = false;
	int n = 0, status = 0;
	json_t *answer = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(ctl_help, stdout);
			return 0;
		} else if (n < (int)(sizeof(args) / sizeof(args[0])))
			args[n++] = argv[i];
		else
			return usage("too many arguments");
	}
	if (n < 2)
		return usage(n ? "no command given" : "no socket and command given");
	const char *sock = args[0], *cmd = args[1];
	int na = n - 2;
	const char **a = args + 2;

	for (int i = 0; i < na; i++)
		if (!plain(a[i]))
			return usage("arguments are numbers (decimal or 0x hex) or gpa/gva");
#define NARGS(lo, hi) if (na < (lo) || na > (hi)) return usage("wrong number of arguments for that command")
	if (!strcmp(cmd, "info")) {
		NARGS(0, 0);
		snprintf(path, sizeof(path), "/vm");
	} else if (!strcmp(cmd, "pause") || !strcmp(cmd, "shutdown")) {
		NARGS(0, 0);
		method = "PUT";
		snprintf(path, sizeof(path), "/vm/%s", cmd);
	} else if (!strcmp(cmd, "resume")) {
		method = "PUT";
		snprintf(path, sizeof(path), "/vm/resume");
		if (na) {
			size_t l = (size_t)snprintf(body, sizeof(body), "{\"vcpus\": [");
			for (int i = 0; i < na; i++)
				l += (size_t)snprintf(body + l, sizeof(body) - l, "%s%s", i ? ", " : "", a[i]);
			snprintf(body + l, sizeof(body) - l, "]}");
		}
	} else if (!strcmp(cmd, "quit")) {
		NARGS(0, 1);
		method = "PUT";
		snprintf(path, sizeof(path), "/vm/quit");
		if (na)
			snprintf(body, sizeof(body), "{\"status\": %s}", a[0]);
	} else if (!strcmp(cmd, "vcpus") || !strcmp(cmd, "bus") || !strcmp(cmd, "irq") ||
		   !strcmp(cmd, "stats") || !strcmp(cmd, "fds") || !strcmp(cmd, "threads")) {
		NARGS(0, 0);
		snprintf(path, sizeof(path), "/%s", cmd);
	} else if (!strcmp(cmd, "slots")) {
		NARGS(0, 0);
		snprintf(path, sizeof(path), "/memory/slots");
	} else if (!strcmp(cmd, "regs")) {
		NARGS(1, 1);
		snprintf(path, sizeof(path), "/vcpus/%s/regs", a[0]);
	} else if (!strcmp(cmd, "translate")) {
		NARGS(2, 2);
		snprintf(path, sizeof(path), "/translate?vcpu=%s&gva=%s", a[0], a[1]);
	} else if (!strcmp(cmd, "mem")) {
		NARGS(2, 4);
		if (strcmp(a[0], "gpa") && strcmp(a[0], "gva"))
			return usage("mem gpa ADDR [LEN] or mem gva ADDR [LEN [VCPU]]");
		if (!strcmp(a[0], "gpa") && na > 3)
			return usage("mem gpa takes no VCPU");
		snprintf(path, sizeof(path), "/memory?%s=%s&len=%s%s%s", a[0], a[1],
			 na > 2 ? a[2] : "64", na > 3 ? "&vcpu=" : "", na > 3 ? a[3] : "");
	} else {
		return usage("unknown command");
	}
	if (request(sock, method, path, body[0] ? body : NULL, &status, &answer) < 0)
		return 1;
	if (status >= 300) {
		json_t *e = json_object_get(answer, "error");
		if (json)
			json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER), putchar('\n');
		fprintf(stderr, "petrel ctl: %s %s: HTTP %d: %s\n", method, path, status,
			json_is_string(e) ? json_string_value(e) : "(no message)");
		json_decref(answer);
		return 1;
	}
	if (json) {
		json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_value(NULL, answer, 0);
	}
	json_decref(answer);
	return 0;
}
