/*
 * Control API endpoints about guest memory: the memslots, reading guest
 * memory by GPA or GVA, and a translation from a guest-virtual address
 * down to the host's physical frame, each stage labelled:
 *   GVA --(guest page tables, KVM_TRANSLATE)--> GPA
 *       --(petrel's memslot: guest_mem region)--> HVA
 *       --(host page tables, /proc/self/pagemap)--> host frame
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "petrel/vcpu_mem.h"
#include "petrel/vm.h"
#include "api_internal.h"

int api_get_slots(struct api_ctx *c, json_t **out)
{
	const struct guest_mem *m = &c->vm->mem;
	json_t *list = json_array();

	/* vm.c registers region i as KVM memslot i, with no flags */
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->regions[i];
		json_array_append_new(list, json_pack(
			"{s:i, s:o, s:o, s:I, s:o, s:[]}", "slot", i, "gpa", api_hex(r->gpa),
			"gpa_end", api_hex(r->gpa + r->size - 1), "size", (json_int_t)r->size,
			"hva", api_hex((uintptr_t)r->hva), "flags"));
	}
	*out = json_pack("{s:o}", "slots", list);
	return 200;
}

/* The region (= memslot) holding gpa, or -1. */
static int slot_of(const struct guest_mem *m, uint64_t gpa)
{
	for (int i = 0; i < m->nr_regions; i++)
		if (gpa >= m->regions[i].gpa && gpa - m->regions[i].gpa < m->regions[i].size)
			return i;
	return -1;
}

static char *to_hex(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * n] = 0;
	return s;
}

struct virt_read {
	uint64_t gva;
	void *buf;
	size_t len;
	int got;
};

static int do_read_virt(struct vcpu *v, void *arg)
{
	struct virt_read *r = arg;

	r->got = vcpu_read_virt(v, r->gva, r->buf, r->len);
	return 0;
}

static int vcpu_arg(struct api_ctx *c, const struct api_args *a, unsigned *id,
		    json_t **out)
{
	char err[160];
	uint64_t v = 0;
	int st = api_arg_u64(a, "vcpu", false, UINT32_MAX, &v, err, sizeof(err));

	if (st) {
		*out = api_error("%s", err);
		return st;
	}
	if (v >= c->vm->nr_vcpus) {
		*out = api_error("vcpu: vCPU %" PRIu64 " does not exist (this VM has %u)", v,
				 c->vm->nr_vcpus);
		return 404;
	}
	*id = (unsigned)v;
	return 0;
}

int api_get_memory(struct api_ctx *c, const struct api_args *a, json_t **out)
{
	uint8_t buf[API_MAX_MEMORY_READ];
	uint64_t addr = 0, len = 64;
	bool by_gva = api_arg(a, "gva") != NULL, briefly = false;
	char err[160], *hex;
	unsigned id = 0;
	int st;

	if (by_gva == (api_arg(a, "gpa") != NULL)) {
		*out = api_error("give one of gpa= or gva= (with vcpu=, default 0)");
		return 400;
	}
	if (!by_gva && api_arg(a, "vcpu")) {
		*out = api_error("vcpu= goes with gva=, not gpa=");
		return 400;
	}
	if ((st = api_arg_u64(a, by_gva ? "gva" : "gpa", true, UINT64_MAX, &addr, err,
			      sizeof(err))) ||
	    (st = api_arg_u64(a, "len", false, API_MAX_MEMORY_READ, &len, err, sizeof(err)))) {
		*out = api_error("%s", err);
		return st;
	}
	if (len == 0) {
		*out = api_error("len: at least 1");
		return 400;
	}
	if (!by_gva) {
		if (gpa_read(&c->vm->mem, addr, buf, len) < 0) {
			*out = api_error("gpa %#" PRIx64 "+%" PRIu64 " is not all guest RAM", addr, len);
			return 400;
		}
		if (!(hex = to_hex(buf, len)))
			return 500;
		*out = json_pack("{s:o, s:I, s:s}", "gpa", api_hex(addr), "len", (json_int_t)len,
				 "hex", hex);
		free(hex);
		return 200;
	}
	if ((st = vcpu_arg(c, a, &id, out)))
		return st;
	struct virt_read r = { addr, buf, len, 0 };
	st = api_with_paused(c, &c->vm->vcpus[id], do_read_virt, &r, &briefly);
	if (st < 0) {
		*out = api_error("vCPU %u: %s", id, st == -ECANCELED ? "the VM is stopping" : strerror(-st));
		return 409;
	}
	if (r.got <= 0) {
		*out = api_error("gva %#" PRIx64 " is not mapped for vCPU %u (or not RAM)", addr, id);
		return 400;
	}
	if (!(hex = to_hex(buf, (size_t)r.got)))
		return 500;
	*out = json_pack("{s:o, s:i, s:I, s:s, s:b}", "gva", api_hex(addr), "vcpu", (int)id,
			 "len", (json_int_t)r.got, "hex", hex, "sampled_in_brief_pause", briefly);
	free(hex);
	return 200;
}

static int do_translate(struct vcpu *v, void *arg)
{
	return ioctl(v->fd, KVM_TRANSLATE, arg) < 0 ? -errno : 0;
}

/* The host stage: /proc/self/pagemap's entry for hva (proc(5)). */
static json_t *host_stage(uint64_t hva)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	json_t *o;

	if (fd < 0 || pread(fd, &e, 8, (off_t)(hva / (uint64_t)page * 8)) != 8) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return json_pack("{s:s, s:s}", "stage", "host page tables (/proc/self/pagemap)",
				 "error", strerror(err));
	}
	close(fd);
	bool present = e >> 63 & 1, swapped = e >> 62 & 1;
	uint64_t pfn = e & ((1ULL << 55) - 1);
	o = json_pack("{s:s, s:b, s:b}", "stage", "host page tables (/proc/self/pagemap)",
		      "present", present, "swapped", swapped);
	if (!present) {
		json_object_set_new(o, "note", json_string(
			"the guest has not touched this page yet: no host frame behind it"));
	} else if (pfn == 0) {
		json_object_set_new(o, "pfn", json_null());
		json_object_set_new(o, "note", json_string(
			"the frame reads as 0: petrel lacks CAP_SYS_ADMIN, which the kernel "
			"requires to show page frame numbers"));
	} else {
		json_object_set_new(o, "pfn", api_hex(pfn));
		json_object_set_new(o, "hpa", api_hex(pfn * (uint64_t)page + hva % (uint64_t)page));
	}
	return o;
}

int api_get_translate(struct api_ctx *c, const struct api_args *a, json_t **out)
{
	struct kvm_translation t = { 0 };
	const struct guest_mem *m = &c->vm->mem;
	uint64_t gva = 0;
	unsigned id = 0;
	bool briefly;
	char err[160];
	json_t *stages;
	int st, slot;

	if ((st = api_arg_u64(a, "gva", true, UINT64_MAX, &gva, err, sizeof(err)))) {
		*out = api_error("%s", err);
		return st;
	}
	if ((st = vcpu_arg(c, a, &id, out)))
		return st;
	t.linear_address = gva;
	st = api_with_paused(c, &c->vm->vcpus[id], do_translate, &t, &briefly);
	if (st < 0) {
		*out = api_error("KVM_TRANSLATE on vCPU %u: %s", id,
				 st == -ECANCELED ? "the VM is stopping" : strerror(-st));
		return st == -ECANCELED ? 409 : 500;
	}
	stages = json_array();
	json_array_append_new(stages, json_pack("{s:s, s:o, s:i}", "stage", "guest virtual address",
						"gva", api_hex(gva), "vcpu", (int)id));
	json_array_append_new(stages, json_pack(
		"{s:s, s:o, s:b, s:b, s:b}", "stage", "guest page tables (KVM_TRANSLATE)",
		"gpa", api_hex(t.physical_address), "valid", t.valid, "writeable", t.writeable,
		"usermode", t.usermode));
	if (!t.valid)
		goto done;
	slot = slot_of(m, t.physical_address);
	if (slot < 0) {
		json_array_append_new(stages, json_pack(
			"{s:s, s:n, s:s}", "stage", "memslot (petrel's guest RAM)", "slot",
			"note", "not guest RAM: an MMIO address or a hole"));
		goto done;
	}
	uint64_t hva = (uintptr_t)m->regions[slot].hva + (t.physical_address - m->regions[slot].gpa);
	json_array_append_new(stages, json_pack(
		"{s:s, s:i, s:o, s:o, s:o}", "stage", "memslot (petrel's guest RAM)", "slot", slot,
		"slot_gpa", api_hex(m->regions[slot].gpa), "slot_hva",
		api_hex((uintptr_t)m->regions[slot].hva), "hva", api_hex(hva)));
	json_array_append_new(stages, host_stage(hva));
done:
	*out = json_pack("{s:o, s:b}", "stages", stages, "sampled_in_brief_pause", briefly);
	return 200;
}
