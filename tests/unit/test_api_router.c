/*
 * The control API without a socket: the router (paths, methods, query
 * keys, numbers, bodies) and api_dispatch's JSON on a VM made by hand (no
 * /dev/kvm: RAM, buses and fake vCPUs whose threads never ran), including
 * that every error is a 4xx/5xx with {"error": "..."}.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "petrel/api.h"
#include "petrel/exitcode.h"
#include "petrel/vm.h"

static int route(const char *method, const char *path, struct api_call *c)
{
	struct api_request r = { .method = method, .path = path };
	char err[256];
	int st = api_route(&r, c, err, sizeof(err));

	assert_true(st == 0 || err[0]);
	return st;
}

static void test_paths_and_methods(void **state)
{
	struct api_call c;

	(void)state;
	assert_int_equal(route("GET", "/vm", &c), 0);
	assert_int_equal(c.ep, API_VM);
	assert_int_equal(route("GET", "/vm/", &c), 0); /* one trailing slash */
	assert_int_equal(route("PUT", "/vm/pause", &c), 0);
	assert_int_equal(c.ep, API_PAUSE);
	assert_int_equal(route("PUT", "/vm/resume", &c), 0);
	assert_int_equal(route("PUT", "/vm/shutdown", &c), 0);
	assert_int_equal(c.ep, API_SHUTDOWN);
	assert_int_equal(route("PUT", "/vm/quit", &c), 0);
	assert_int_equal(route("GET", "/vcpus", &c), 0);
	assert_int_equal(route("GET", "/vcpus/3/regs", &c), 0);
	assert_int_equal(c.ep, API_VCPU_REGS);
	assert_int_equal(c.vcpu, 3);
	assert_int_equal(route("GET", "/vcpus/0x10/regs", &c), 0);
	assert_int_equal(c.vcpu, 16);
	assert_int_equal(route("GET", "/memory/slots", &c), 0);
	assert_int_equal(c.ep, API_SLOTS);
	assert_int_equal(route("GET", "/memory", &c), 0);
	assert_int_equal(c.ep, API_MEMORY);
	for (int ep = 0; ep < API_NR_ENDPOINTS; ep++) {
		if (ep == API_VCPU_REGS)
			continue;
		assert_int_equal(route(api_endpoint_method(ep), api_endpoint_path(ep), &c), 0);
		assert_int_equal(c.ep, ep);
	}
	/* unknown paths */
	assert_int_equal(route("GET", "/", &c), 404);
	assert_int_equal(route("GET", "/vmx", &c), 404);
	assert_int_equal(route("GET", "/vm//", &c), 404);
	assert_int_equal(route("GET", "/vcpus/1", &c), 404);
	assert_int_equal(route("GET", "/vcpus//regs", &c), 404);
	assert_int_equal(route("GET", "/vcpus/1/regs/x", &c), 404);
	assert_int_equal(route("GET", "", &c), 404);
	assert_int_equal(route("GET", NULL, &c), 404);
	/* known paths, other methods */
	assert_int_equal(route("POST", "/vm", &c), 405);
	assert_int_equal(route("GET", "/vm/pause", &c), 405);
	assert_int_equal(route("DELETE", "/vcpus", &c), 405);
	assert_int_equal(route("get", "/vm", &c), 405); /* methods are case-sensitive */
	/* a vCPU that is not a number, or out of range */
	assert_int_equal(route("GET", "/vcpus/x/regs", &c), 400);
	assert_int_equal(route("GET", "/vcpus/-1/regs", &c), 400);
	assert_int_equal(route("GET", "/vcpus/99999999999/regs", &c), 400);
	assert_int_equal(route("GET", "/vcpus/0x/regs", &c), 400);
}

static void test_numbers(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(api_parse_u64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(api_parse_u64("4096", 4096, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(api_parse_u64("4097", 4096, &v), -ERANGE);
	assert_int_equal(api_parse_u64("0xffffffffffffffff", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(api_parse_u64("0x10000000000000000", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(api_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_int_equal(api_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(api_parse_u64("0XaBc", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0xabc);
	assert_int_equal(api_parse_u64("", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64("0x", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64("-1", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64("+1", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64(" 1", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64("1 ", 10, &v), -EINVAL);
	assert_int_equal(api_parse_u64("12ab", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(api_parse_u64("1e3", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(api_parse_u64(NULL, 10, &v), -EINVAL);
}

static int route_q(const char *path, const char *const *kv, unsigned n, char *err)
{
	struct api_request r = { .method = "GET", .path = path };
	struct api_call c;
	int st;

	for (unsigned i = 0; i < n; i++) {
		r.args.key[i] = kv[2 * i];
		r.args.val[i] = kv[2 * i + 1];
	}
	r.args.n = n;
	st = api_route(&r, &c, err, 256);
	json_decref(c.body);
	return st;
}

static void test_query(void **state)
{
	char err[256];
	struct api_args a = { 0 };
	uint64_t v = 0;

	(void)state;
	assert_int_equal(route_q("/translate", (const char *[]){ "vcpu", "0", "gva", "0x1000" }, 2, err), 0);
	assert_int_equal(route_q("/translate", (const char *[]){ "gpa", "0" }, 1, err), 400);
	assert_non_null(strstr(err, "gpa"));
	assert_int_equal(route_q("/vm", (const char *[]){ "x", "1" }, 1, err), 400);
	assert_int_equal(route_q("/memory", (const char *[]){ "gpa", "1", "gpa", "2" }, 2, err), 400);
	assert_non_null(strstr(err, "twice"));
	/* api_arg_u64: missing, optional, bad, out of range */
	a.key[0] = "len";
	a.val[0] = "9000";
	a.key[1] = "gva";
	a.val[1] = "0xzz";
	a.key[2] = "vcpu";
	a.val[2] = "";
	a.n = 3;
	assert_int_equal(api_arg_u64(&a, "gpa", true, UINT64_MAX, &v, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "missing"));
	v = 42;
	assert_int_equal(api_arg_u64(&a, "gpa", false, UINT64_MAX, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(api_arg_u64(&a, "len", true, 4096, &v, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(api_arg_u64(&a, "gva", true, UINT64_MAX, &v, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "not a number"));
	assert_int_equal(api_arg_u64(&a, "vcpu", true, 10, &v, err, sizeof(err)), 400);
	a.overflow = true;
	struct api_request r = { .method = "GET", .path = "/memory", .args = a };
	struct api_call c;
	r.args.n = 0;
	assert_int_equal(api_route(&r, &c, err, sizeof(err)), 400);
}

static int route_body(const char *method, const char *path, const char *body, char *err)
{
	struct api_request r = { .method = method, .path = path, .body = body,
				 .body_len = body ? strlen(body) : 0 };
	struct api_call c;
	int st = api_route(&r, &c, err, 256);

	if (st == 0 && body && body[0]) {
		assert_non_null(c.body);
		assert_true(json_is_object(c.body));
	}
	json_decref(c.body);
	return st;
}

static void test_bodies(void **state)
{
	char err[256], big[API_MAX_BODY + 10];

	(void)state;
	assert_int_equal(route_body("PUT", "/vm/resume", "{\"vcpus\": [0, 1]}", err), 0);
	assert_int_equal(route_body("PUT", "/vm/resume", "{}", err), 0);
	assert_int_equal(route_body("PUT", "/vm/pause", "{}", err), 0); /* empty object: fine */
	assert_int_equal(route_body("PUT", "/vm/pause", "{\"a\": 1}", err), 400);
	assert_int_equal(route_body("PUT", "/vm/resume", "{\"vcpus\": [0,", err), 400);
	assert_non_null(strstr(err, "malformed JSON"));
	assert_int_equal(route_body("PUT", "/vm/resume", "[1]", err), 400);
	assert_int_equal(route_body("PUT", "/vm/resume", "\"x\"", err), 400);
	assert_int_equal(route_body("PUT", "/vm/resume", "{\"a\":1,\"a\":2}", err), 400);
	assert_int_equal(route_body("PUT", "/vm/quit", "{\"status\": 1} x", err), 400);
	assert_int_equal(route_body("PUT", "/vm/quit", "\xff\xfe", err), 400);
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = 0;
	assert_int_equal(route_body("PUT", "/vm/resume", big, err), 413);
}

/* A VM made by hand, as test_vm_stop.c does: no KVM, fake vCPUs. */
static struct fixture {
	struct vm_config cfg;
	struct vm vm;
	struct api_ctx ctx;
} fx;

static uint64_t dev_read(void *o, uint64_t off, unsigned size)
{
	(void)o, (void)off, (void)size;
	return 0;
}

static void dev_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
	(void)o, (void)off, (void)v, (void)size;
}

static const struct bus_dev_ops dev_ops = { dev_read, dev_write };

static int setup(void **state)
{
	struct vm *vm = &fx.vm;

	memset(&fx, 0, sizeof(fx));
	fx.cfg.ncpus = 2;
	fx.cfg.kernel = "/boot/vmlinuz";
	fx.cfg.cmdline = "console=ttyS0";
	vm->cfg = &fx.cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->kick_signal = SIGRTMIN;
	vm->run_size = (int)sizeof(struct kvm_run);
	pthread_mutex_init(&vm->stop.lock, NULL);
	pthread_cond_init(&vm->stop.cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	if (guest_mem_init(&vm->mem, 16 << 20) < 0)
		return -1;
	assert_int_equal(bus_insert(&vm->pio, 0x3f8, 8, &dev_ops, NULL, "com1"), 0);
	assert_int_equal(bus_insert(&vm->mmio, 0xfeb00000, 0x1000, &dev_ops, NULL, "virtio-mmio"), 0);
	vm->vcpus = calloc(2, sizeof(*vm->vcpus));
	for (unsigned i = 0; i < 2; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
		vm->vcpus[i].fd = -1;
		vm->nr_vcpus++;
	}
	fx.ctx = (struct api_ctx){ .vm = vm, .socket_path = "/tmp/x.sock", .listen_fd = -1 };
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_destroy(&fx.vm);
	return 0;
}

static json_t *call(const char *method, const char *path, const char *body, int want)
{
	struct api_request r = { .method = method, .path = path, .body = body,
				 .body_len = body ? strlen(body) : 0 };
	json_t *out = NULL;
	int st;

	/* a query string, as libmicrohttpd would have split it */
	char copy[256], *q;
	strcpy(copy, path);
	if ((q = strchr(copy, '?'))) {
		*q++ = 0;
		r.path = copy;
		for (char *kv = strtok(q, "&"); kv; kv = strtok(NULL, "&")) {
			char *eq = strchr(kv, '=');
			r.args.key[r.args.n] = kv;
			r.args.val[r.args.n] = eq ? (*eq = 0, eq + 1) : "";
			r.args.n++;
		}
	}
	st = api_dispatch(&fx.ctx, &r, &out);
	assert_non_null(out);
	if (st != want)
		fail_msg("%s %s: status %d, want %d: %s", method, path, st, want,
			 json_dumps(out, JSON_COMPACT));
	if (st >= 400) {
		assert_int_equal(json_object_size(out), 1);
		assert_true(json_is_string(json_object_get(out, "error")));
		assert_true(strlen(json_string_value(json_object_get(out, "error"))) > 5);
	}
	return out;
}

static void test_vm_shapes(void **state)
{
	json_t *o;

	(void)state;
	o = call("GET", "/vm", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "memory_bytes")), 16 << 20);
	assert_string_equal(json_string_value(json_object_get(o, "irqchip")), "kernel");
	assert_string_equal(json_string_value(json_object_get(o, "kernel")), "/boot/vmlinuz");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	json_decref(o);

	o = call("GET", "/memory/slots", NULL, 200);
	json_t *s = json_array_get(json_object_get(o, "slots"), 0);
	assert_int_equal(json_array_size(json_object_get(o, "slots")), 1);
	assert_int_equal(json_integer_value(json_object_get(s, "slot")), 0);
	assert_string_equal(json_string_value(json_object_get(s, "gpa")), "0x0");
	assert_string_equal(json_string_value(json_object_get(s, "gpa_end")), "0xffffff");
	assert_int_equal(json_integer_value(json_object_get(s, "size")), 16 << 20);
	assert_true(json_is_string(json_object_get(s, "hva")));
	json_decref(o);

	o = call("GET", "/bus", NULL, 200);
	json_t *r = json_array_get(json_object_get(json_object_get(o, "pio"), "ranges"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "base")), "0x3f8");
	assert_string_equal(json_string_value(json_object_get(r, "end")), "0x3ff");
	assert_string_equal(json_string_value(json_object_get(r, "device")), "com1");
	r = json_array_get(json_object_get(json_object_get(o, "mmio"), "ranges"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "device")), "virtio-mmio");
	json_decref(o);

	o = call("GET", "/stats", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(o, "vcpus")), 2);
	assert_true(json_is_integer(json_object_get(json_array_get(json_object_get(o, "vcpus"), 1),
						    "exits")));
	json_decref(o);

	o = call("GET", "/threads", NULL, 200);
	assert_true(json_array_size(json_object_get(o, "threads")) >= 1);
	json_decref(o);
	o = call("GET", "/fds", NULL, 200);
	assert_true(json_array_size(json_object_get(o, "fds")) >= 3);
	json_decref(o);
}

static void test_memory(void **state)
{
	json_t *o;
	uint8_t *p = gpa_ptr(&fx.vm.mem, 0x1000, 4);

	(void)state;
	memcpy(p, "\xde\xad\xbe\xef", 4);
	o = call("GET", "/memory?gpa=0x1000&len=4", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(o, "hex")), "deadbeef");
	assert_string_equal(json_string_value(json_object_get(o, "gpa")), "0x1000");
	json_decref(o);
	o = call("GET", "/memory?gpa=0xfffffe&len=2", NULL, 200); /* the last two bytes */
	json_decref(o);
	json_decref(call("GET", "/memory?gpa=0xffffff&len=2", NULL, 400)); /* past RAM */
	json_decref(call("GET", "/memory?gpa=0xffffffffffffffff&len=4096", NULL, 400));
	json_decref(call("GET", "/memory?gpa=0x1000&len=4097", NULL, 400));
	json_decref(call("GET", "/memory?gpa=0x1000&len=0", NULL, 400));
	json_decref(call("GET", "/memory?len=4", NULL, 400));
	json_decref(call("GET", "/memory?gpa=1&gva=1", NULL, 400));
	json_decref(call("GET", "/memory?gpa=1&vcpu=0", NULL, 400));
	json_decref(call("GET", "/memory?gpa=banana", NULL, 400));
	json_decref(call("GET", "/memory?gva=0x1000&vcpu=2", NULL, 404));
	json_decref(call("GET", "/translate?vcpu=7&gva=0", NULL, 404));
	json_decref(call("GET", "/translate?vcpu=0", NULL, 400));
}

static void test_control(void **state)
{
	json_t *o;

	(void)state;
	/* no vCPU thread ran: regs of a vCPU that is not parked */
	json_decref(call("GET", "/vcpus/0/regs", NULL, 409));
	json_decref(call("GET", "/vcpus/2/regs", NULL, 404));
	json_decref(call("PUT", "/vm/resume", "{\"vcpus\": [2]}", 400));
	json_decref(call("PUT", "/vm/resume", "{\"vcpus\": []}", 400));
	json_decref(call("PUT", "/vm/resume", "{\"vcpus\": [\"0\"]}", 400));
	json_decref(call("PUT", "/vm/resume", "{\"cpus\": [0]}", 400));
	json_decref(call("PUT", "/vm/resume", "{\"vcpus\": [0]}", 200));
	json_decref(call("PUT", "/vm/quit", "{\"status\": 256}", 400));
	json_decref(call("PUT", "/vm/quit", "{\"status\": -1}", 400));
	json_decref(call("PUT", "/vm/quit", "{\"exit\": 1}", 400));
	assert_false(vm_stopping(&fx.vm));
	/* no ACPI device in this VM: no power button */
	json_decref(call("PUT", "/vm/shutdown", NULL, 409));
	o = call("PUT", "/vm/quit", "{\"status\": 7}", 200);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "stopping");
	json_decref(o);
	assert_true(vm_stopping(&fx.vm));
	assert_int_equal(fx.vm.stop.status, 7);
	json_decref(call("PUT", "/vm/pause", NULL, 409));
	o = call("GET", "/vm", NULL, 200);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "stopping");
	json_decref(o);
	json_decref(call("GET", "/nope", NULL, 404));
	json_decref(call("POST", "/vm/quit", NULL, 405));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_and_methods),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test_setup_teardown(test_vm_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
