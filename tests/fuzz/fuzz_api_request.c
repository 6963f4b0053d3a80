/*
 * libFuzzer target for the control API's request handling (src/api/): the
 * input is "METHOD PATH[?QUERY]\nBODY", split the way libmicrohttpd hands
 * a request over (query pairs at & and =), routed and run on a VM made by
 * hand (no KVM: RAM, a bus range, two vCPUs without threads). Whatever a
 * client sends, the answer is a status from 200 to 599 with a JSON body,
 * an error one carrying {"error": "..."}; nothing crashes or leaks.
 * Endpoints that only read /proc (fds, threads) are left out: they parse
 * nothing of the request.
 */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "petrel/api.h"
#include "petrel/vm.h"

#include "fuzz_check.h"

static struct vm_config cfg;
static struct vm vm;
static struct api_ctx ctx;

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

static void make_vm(void)
{
	cfg.ncpus = 2;
	cfg.kernel = "vmlinuz";
	vm.cfg = &cfg;
	vm.kvm_fd = vm.vm_fd = -1;
	vm.kick_signal = SIGRTMIN;
	vm.run_size = (int)sizeof(struct kvm_run);
	pthread_mutex_init(&vm.stop.lock, NULL);
	pthread_cond_init(&vm.stop.cond, NULL);
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	CHECK(guest_mem_init(&vm.mem, 1 << 20) == 0);
	CHECK(bus_insert(&vm.pio, 0x3f8, 8, &dev_ops, NULL, "com1") == 0);
	vm.vcpus = calloc(2, sizeof(*vm.vcpus));
	CHECK(vm.vcpus);
	for (unsigned i = 0; i < 2; i++) {
		vm.vcpus[i].vm = &vm;
		vm.vcpus[i].id = i;
		vm.vcpus[i].fd = -1;
	}
	vm.nr_vcpus = 2;
	ctx = (struct api_ctx){ .vm = &vm, .socket_path = "/tmp/fuzz.sock", .listen_fd = -1 };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool made;
	struct api_request req = { 0 };
	struct api_call call;
	char *text, *nl, *sp, *q, err[384];
	json_t *out = NULL;
	int st;

	if (!made) {
		make_vm();
		made = true;
	}
	/* a quit or a pause in an earlier input: start each one running */
	atomic_store(&vm.stop.stopped, false);
	for (unsigned i = 0; i < 2; i++)
		atomic_store(&vm.vcpus[i].pause_req, false);

	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = 0;
	nl = strchr(text, '\n');
	if (nl) {
		*nl = 0;
		req.body = nl + 1;
		req.body_len = size - (size_t)(nl + 1 - text);
	}
	sp = strchr(text, ' ');
	req.method = text;
	req.path = "";
	if (sp) {
		*sp = 0;
		req.path = sp + 1;
	}
	if ((q = strchr(req.path, '?'))) {
		*q++ = 0;
		for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
		     kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (req.args.n == API_MAX_ARGS) {
				req.args.overflow = true;
				break;
			}
			req.args.key[req.args.n] = kv;
			req.args.val[req.args.n] = eq ? (*eq = 0, eq + 1) : "";
			req.args.n++;
		}
	}
	st = api_route(&req, &call, err, sizeof(err));
	CHECK(st == 0 || (st >= 400 && st < 600 && err[0]));
	json_decref(call.body);
	if (st == 0 && (call.ep == API_FDS || call.ep == API_THREADS)) {
		free(text);
		return 0;
	}
	st = api_dispatch(&ctx, &req, &out);
	CHECK(out && st >= 200 && st < 600);
	if (st >= 400)
		CHECK(json_is_string(json_object_get(out, "error")));
	json_decref(out);
	free(text);
	return 0;
}
