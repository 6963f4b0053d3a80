/*
 * Control API endpoints about petrel itself: the address map (the PIO and
 * MMIO buses, like QEMU's `info mtree`), the interrupt controller, the
 * counters, and the process's file descriptors and threads with what each
 * one is.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/bus.h"
#include "petrel/start_times.h"
#include "petrel/vm.h"
#include "api_internal.h"

static json_t *bus_json(struct bus *b)
{
	size_t n = bus_report(b, NULL, 0), got;
	struct bus_stat *st = calloc(n ? n : 1, sizeof(*st));
	json_t *ranges = json_array(), *unclaimed = json_array();

	if (!st)
		return NULL;
	got = bus_report(b, st, n);
	for (size_t i = 0; i < got && i < n; i++) {
		if (st[i].name)
			json_array_append_new(ranges, json_pack(
				"{s:o, s:o, s:I, s:s, s:I, s:I}", "base", api_hex(st[i].base),
				"end", api_hex(st[i].base + st[i].len - 1), "len",
				(json_int_t)st[i].len, "device", st[i].name, "reads",
				(json_int_t)st[i].reads, "writes", (json_int_t)st[i].writes));
		else
			json_array_append_new(unclaimed, json_pack(
				"{s:o, s:I, s:I}", "addr", api_hex(st[i].base), "reads",
				(json_int_t)st[i].reads, "writes", (json_int_t)st[i].writes));
	}
	free(st);
	return json_pack("{s:o, s:o, s:I, s:I}", "ranges", ranges, "unclaimed", unclaimed,
			 "unclaimed_reads", (json_int_t)atomic_load(&b->unclaimed_reads),
			 "unclaimed_writes", (json_int_t)atomic_load(&b->unclaimed_writes));
}

int api_get_bus(struct api_ctx *c, json_t **out)
{
	*out = json_pack("{s:o?, s:o?}", "pio", bus_json(&c->vm->pio), "mmio",
			 bus_json(&c->vm->mmio));
	return 200;
}

/* One IOAPIC redirection entry, decoded (82093AA datasheet, 3.2.4). */
static json_t *redir_json(unsigned pin, uint64_t e)
{
	static const char *const delivery[8] = { "fixed", "lowest", "smi", "reserved",
						 "nmi", "init", "reserved", "extint" };

	return json_pack("{s:i, s:o, s:i, s:s, s:s, s:s, s:b, s:b, s:i}", "pin", (int)pin,
			 "raw", api_hex(e), "vector", (int)(e & 0xff),
			 "delivery", delivery[(e >> 8) & 7],
			 "trigger", (e >> 15 & 1) ? "level" : "edge",
			 "polarity", (e >> 13 & 1) ? "low" : "high",
			 "masked", (int)(e >> 16 & 1), "remote_irr", (int)(e >> 14 & 1),
			 "dest", (int)(e >> 56));
}

int api_get_irq(struct api_ctx *c, json_t **out)
{
	struct irqchip *chip = &c->vm->irqchip;
	struct irqchip_info *info;
	json_t *pins, *msi;
	int err;

	if (!chip->ops || !chip->ops->info) {
		*out = api_error("this irqchip does not describe itself");
		return 501;
	}
	if (!(info = malloc(sizeof(*info))))
		return 500;
	if ((err = chip->ops->info(chip->opaque, info)) < 0) {
		*out = api_error("reading the irqchip: %s", strerror(-err));
		free(info);
		return 500;
	}
	pins = json_array();
	msi = json_array();
	for (unsigned i = 0; i < info->nr_pins; i++)
		json_array_append_new(pins, redir_json(i, info->redir[i]));
	for (unsigned i = 0; i < info->nr_msi; i++)
		json_array_append_new(msi, json_pack(
			"{s:i, s:o, s:o, s:i, s:i}", "gsi", (int)info->msi[i].gsi, "addr",
			api_hex(info->msi[i].addr), "data", api_hex(info->msi[i].data),
			"vector", (int)(info->msi[i].data & 0xff),
			"dest", (int)((info->msi[i].addr >> 12) & 0xff)));
	*out = json_pack("{s:s, s:{s:i, s:o}, s:o}", "irqchip", info->mode, "ioapic", "id",
			 (int)info->ioapic_id, "redirection_table", pins, "msi_routes", msi);
	free(info);
	return 200;
}

int api_get_stats(struct api_ctx *c, json_t **out)
{
	static const char *const names[STAT_NR] = { "exits", "io", "mmio", "intr", "hlt", "other" };
	static const char *const steps[START_NR] = { "parsed", "planned", "kvm_vm", "machine",
						     "loaded", "vcpus", "first_run" };
	struct vm *vm = c->vm;
	json_t *vcpus = json_array(), *start = json_object();

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		json_t *o = json_pack("{s:i}", "id", (int)i);
		/* written by the vCPU's thread alone: a snapshot, maybe a count behind */
		for (int s = 0; s < STAT_NR; s++)
			json_object_set_new(o, names[s], json_integer((json_int_t)__atomic_load_n(
								  &vm->vcpus[i].stats[s], __ATOMIC_RELAXED)));
		json_array_append_new(vcpus, o);
	}
	if (vm->cfg && vm->cfg->times)
		for (int s = 0; s < START_NR; s++) {
			uint64_t ns = atomic_load(&vm->cfg->times->at[s]);
			json_object_set_new(start, steps[s], ns ? json_integer((json_int_t)(ns / 1000))
								 : json_null());
		}
	*out = json_pack("{s:o, s:{s:I, s:I}, s:{s:I, s:I}, s:I, s:o}", "vcpus", vcpus,
			 "pio_unclaimed", "reads", (json_int_t)atomic_load(&vm->pio.unclaimed_reads),
			 "writes", (json_int_t)atomic_load(&vm->pio.unclaimed_writes),
			 "mmio_unclaimed", "reads", (json_int_t)atomic_load(&vm->mmio.unclaimed_reads),
			 "writes", (json_int_t)atomic_load(&vm->mmio.unclaimed_writes),
			 "guest_ram_resident_bytes", (json_int_t)guest_mem_resident(&vm->mem),
			 "start_us", start);
	return 200;
}

/* What an fd's /proc/self/fd link says it is, in petrel's terms. */
static void describe_fd(struct api_ctx *c, int fd, const char *link, char *what, size_t n)
{
	struct vm *vm = c->vm;
	unsigned id;

	if (fd == c->listen_fd) {
		snprintf(what, n, "the control API's socket (%s)", c->socket_path);
		return;
	}
	if (fd == vm->kvm_fd) {
		snprintf(what, n, "/dev/kvm (system ioctls)");
		return;
	}
	if (fd == vm->vm_fd) {
		snprintf(what, n, "the VM (KVM_CREATE_VM)");
		return;
	}
	if (sscanf(link, "anon_inode:kvm-vcpu:%u", &id) == 1) {
		snprintf(what, n, "vCPU %u (KVM_CREATE_VCPU)", id);
		return;
	}
	/* links that name what they are, whoever holds them */
	static const struct { const char *link, *what; } known[] = {
		{ "anon_inode:[eventfd]",
		  "an eventfd (ioeventfd/irqfd, or the I/O thread's wake-up)" },
		{ "anon_inode:[eventpoll]",
		  "an epoll set (the I/O thread, or the API server)" },
		{ "anon_inode:[signalfd]",
		  "the I/O thread's signalfd (SIGINT, SIGTERM, ...)" },
		{ "anon_inode:[timerfd]",
		  "a timerfd (the I/O thread's timers)" },
		{ "anon_inode:[io_uring]",
		  "an io_uring (disk I/O)" },
		{ "/dev/net/tun",
		  "a tap device (--net tap)" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(link, known[i].link)) {
			snprintf(what, n, "%s", known[i].what);
			return;
		}
	if (vm->cfg)
		for (unsigned i = 0; i < vm->cfg->nr_disks; i++) {
			char real[4096];
			if (realpath(vm->cfg->disks[i].path, real) && !strcmp(real, link)) {
				snprintf(what, n, "disk image %u (--disk)", i);
				return;
			}
		}
	if (fd <= 2)
		snprintf(what, n, "%s", fd == 0 ? "stdin" : fd == 1 ? "stdout" : "stderr");
	else if (!strncmp(link, "socket:", 7))
		snprintf(what, n, "a socket (a connection to the API, the console socket, slirp)");
	else if (!strncmp(link, "/memfd:", 7))
		snprintf(what, n, "a memfd");
	else
		snprintf(what, n, "%s", "");
}

int api_get_fds(struct api_ctx *c, json_t **out)
{
	DIR *d = opendir("/proc/self/fd");
	json_t *list = json_array();
	struct dirent *e;

	if (!d) {
		*out = api_error("/proc/self/fd: %s", strerror(errno));
		json_decref(list);
		return 500;
	}
	while ((e = readdir(d))) {
		char path[64], link[4096], what[160];
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue; /* closed meanwhile */
		link[n] = 0;
		describe_fd(c, fd, link, what, sizeof(what));
		json_array_append_new(list, json_pack("{s:i, s:o, s:o}", "fd", fd, "target",
						      api_text(link), "what", api_text(what)));
	}
	closedir(d);
	*out = json_pack("{s:o}", "fds", list);
	return 200;
}

/* Reads a small /proc file into buf (trailing newline dropped). */
static int read_small(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	size_t len;

	if (!f)
		return -errno;
	len = fread(buf, 1, n - 1, f);
	fclose(f);
	buf[len] = 0;
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = 0;
	return 0;
}

int api_get_threads(struct api_ctx *c, json_t **out)
{
	DIR *d = opendir("/proc/self/task");
	json_t *list = json_array();
	struct dirent *e;

	if (!d) {
		*out = api_error("/proc/self/task: %s", strerror(errno));
		json_decref(list);
		return 500;
	}
	while ((e = readdir(d))) {
		char path[96], comm[64] = "", stat[512] = "", what[96] = "";
		const char *paren;
		char state = '?';
		int tid;

		if (e->d_name[0] == '.')
			continue;
		tid = atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
		if (read_small(path, comm, sizeof(comm)) < 0)
			continue; /* gone meanwhile */
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		/* state follows the comm's closing parenthesis (proc(5)) */
		if (read_small(path, stat, sizeof(stat)) == 0 && (paren = strrchr(stat, ')')) &&
		    paren[1] == ' ')
			state = paren[2];
		for (unsigned i = 0; i < c->vm->nr_vcpus; i++)
			if (atomic_load(&c->vm->vcpus[i].tid) == tid)
				snprintf(what, sizeof(what), "vCPU %u (%s)", i,
					 vcpu_state_name(atomic_load(&c->vm->vcpus[i].state)));
		if (!what[0]) {
			if (tid == getpid())
				snprintf(what, sizeof(what), "main: waits for the VM to stop");
			else if (!strcmp(comm, "io"))
				snprintf(what, sizeof(what), "the I/O thread (console, virtio backends)");
			else if (!strcmp(comm, "api"))
				snprintf(what, sizeof(what), "the control API (this answer)");
			else if (!strcmp(comm, "pic-watch"))
				snprintf(what, sizeof(what), "vCPU 0's 8259 watchdog");
		}
		json_array_append_new(list, json_pack("{s:i, s:o, s:s#, s:s}", "tid", tid, "name",
						      api_text(comm), "state", &state, 1, "what", what));
	}
	closedir(d);
	*out = json_pack("{s:o}", "threads", list);
	return 200;
}
