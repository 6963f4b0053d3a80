/*
 * The kit host: builds a kit VM with petrel's library, handles the guest's
 * ucall/trap ports in petrel's exit hook, and collects what a test checks.
 * See kit.h for the API and kit_abi.h for the guest contract.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"
#include "petrel/exitcode.h"
#include "petrel/kvm.h"
#include "petrel/memory.h"
#include "petrel/util.h"
#include "petrel/vcpu_mem.h"

#define KIT_DEFAULT_MEM (64 * MiB)
#define KIT_DEFAULT_TIMEOUT_MS 30000

/* x86 architectural bits the kit's long-mode state uses. */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PAE (1u << 5)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define RFLAGS_FIXED 0x2u
#define RFLAGS_IF (1u << 9)
#define RFLAGS_IOPL3 (3u << 12)
#define PTE_P 0x1u
#define PTE_W 0x2u
#define PTE_U 0x4u
#define PTE_PWT 0x8u
#define PTE_PCD 0x10u
#define PTE_PS 0x80u

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23",
	"24", "25", "26", "27", "#HV", "#VC", "#SX", "31",
};

/* ---- failures ---- */

static void vfail(struct kit_vm *k, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "FAIL: %s\n", msg);
	pthread_mutex_lock(&k->lock);
	if (k->failures++ == 0)
		snprintf(k->first_failure, sizeof(k->first_failure), "%s", msg);
	pthread_mutex_unlock(&k->lock);
}

void kit_fail(struct kit_vm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(k, fmt, ap);
	va_end(ap);
}

enum kit_action kit_fail_stop(struct kit_vm *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(k, fmt, ap);
	va_end(ap);
	return KIT_STOP;
}

unsigned kit_failures(struct kit_vm *k)
{
	unsigned n;

	pthread_mutex_lock(&k->lock);
	n = k->failures;
	pthread_mutex_unlock(&k->lock);
	return n;
}

bool kit_check_eq(struct kit_vm *k, uint64_t a, uint64_t b, const char *file,
		  int line, const char *expr)
{
	if (a == b)
		return true;
	kit_fail(k, "%s:%d: check failed: %s (0x%llx != 0x%llx)", file, line, expr,
		 (unsigned long long)a, (unsigned long long)b);
	return false;
}

/* ---- the machine state the host builds ---- */

void kit_segment(uint16_t selector, struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->limit = 0xffffffff;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	switch (selector & ~3u) {
	case KIT_SEL_KCODE:
		s->type = 0xb; /* execute/read, accessed */
		s->l = 1;
		break;
	case KIT_SEL_KDATA:
		s->type = 0x3; /* read/write, accessed */
		s->db = 1;
		break;
	case KIT_SEL_UDATA & ~3u:
		s->type = 0x3;
		s->db = 1;
		s->dpl = 3;
		break;
	case KIT_SEL_UCODE & ~3u:
		s->type = 0xb;
		s->l = 1;
		s->dpl = 3;
		break;
	default: /* the null selector (SS after an interrupt at CPL0) */
		memset(s, 0, sizeof(*s));
		s->selector = selector;
		s->unusable = 1;
		break;
	}
}

static uint64_t gdt_entry(uint8_t access, uint8_t flags)
{
	/* base 0, limit 0xfffff (4 GiB with G): only access and flags vary */
	return 0xffffULL | (uint64_t)access << 40 | (uint64_t)(0xf | flags << 4) << 48;
}

static int build_tables(struct kit_vm *k)
{
	struct guest_mem *m = &k->vm.mem;
	uint64_t *gdt = gpa_ptr(m, KIT_GDT, KIT_GDT_SIZE);
	uint64_t *idt = gpa_ptr(m, KIT_IDT, 256 * 16);
	uint64_t *pml4 = gpa_ptr(m, KIT_PML4, 4096);
	uint64_t *pdpt = gpa_ptr(m, KIT_PDPT, 4096);
	uint64_t *pd_low = gpa_ptr(m, KIT_PD_LOW, 4096);
	uint64_t *pd_high = gpa_ptr(m, KIT_PD_HIGH, 4096);
	uint8_t *tss = gpa_ptr(m, KIT_TSS, KIT_TSS_SLOT * KIT_MAX_CPUS);

	if (!gdt || !idt || !pml4 || !pdpt || !pd_low || !pd_high || !tss)
		return -EFAULT;

	gdt[0] = 0;
	gdt[KIT_SEL_KCODE / 8] = gdt_entry(0x9b, 0xa); /* P, DPL0, code; G, L */
	gdt[KIT_SEL_KDATA / 8] = gdt_entry(0x93, 0xc); /* P, DPL0, data; G, D/B */
	gdt[KIT_SEL_UDATA / 8] = gdt_entry(0xf3, 0xc); /* DPL3 */
	gdt[KIT_SEL_UCODE / 8] = gdt_entry(0xfb, 0xa);
	for (unsigned i = 0; i < KIT_MAX_CPUS; i++) {
		uint64_t base = KIT_TSS + i * KIT_TSS_SLOT;
		uint8_t *t = tss + i * KIT_TSS_SLOT;
		uint64_t rsp0 = KIT_KSTACK_TOP(i);
		uint16_t iomap = 0x68; /* the bitmap follows the header */

		/* zero bitmap bits: every port allowed; the byte past it is all-ones */
		memset(t, 0, KIT_TSS_SLOT);
		t[KIT_TSS_LIMIT] = 0xff;
		memcpy(t + 4, &rsp0, 8);
		memcpy(t + 0x66, &iomap, 2);
		/* a 16-byte system descriptor: busy 64-bit TSS */
		gdt[KIT_SEL_TSS(i) / 8] = KIT_TSS_LIMIT | (base & 0xffffff) << 16 |
					  0x8bULL << 40 | ((base >> 24) & 0xff) << 56;
		gdt[KIT_SEL_TSS(i) / 8 + 1] = base >> 32;
	}

	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = KIT_STUBS + (uint64_t)v * KIT_STUB_SIZE;
		/* interrupt gate, DPL3 so that `int n` from CPL3 may use it too */
		idt[2 * v] = (off & 0xffff) | (uint64_t)KIT_SEL_KCODE << 16 |
			     0xeeULL << 40 | ((off >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = off >> 32;
	}

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = KIT_PDPT | PTE_P | PTE_W | PTE_U;
	pdpt[0] = KIT_PD_LOW | PTE_P | PTE_W | PTE_U;
	pdpt[3] = KIT_PD_HIGH | PTE_P | PTE_W | PTE_U;
	for (uint64_t i = 0; i < 512; i++) {
		pd_low[i] = (i << 21) | PTE_P | PTE_W | PTE_U | PTE_PS;
		/* 3-4 GiB holds only devices: uncached, as the SDM wants for MMIO */
		pd_high[i] = (0xc0000000ULL + (i << 21)) | PTE_P | PTE_W | PTE_U |
			     PTE_PS | PTE_PCD | PTE_PWT;
	}
	return 0;
}

int kit_enter_long_mode(struct kit_vm *k, struct vcpu *v, unsigned cpu,
			uint64_t rip)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	int err;

	if (cpu >= KIT_MAX_CPUS)
		return -EINVAL;
	if ((err = kvm_ioctl(v->fd, KVM_GET_SREGS, &s)) < 0)
		return err;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = KIT_PML4;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	s.gdt.base = KIT_GDT;
	s.gdt.limit = KIT_GDT_SIZE - 1;
	s.idt.base = KIT_IDT;
	s.idt.limit = 256 * 16 - 1;
	if (k->opts.cpl0) {
		kit_segment(KIT_SEL_KCODE, &s.cs);
		kit_segment(KIT_SEL_KDATA, &s.ss);
	} else {
		kit_segment(KIT_SEL_UCODE, &s.cs);
		kit_segment(KIT_SEL_UDATA, &s.ss);
	}
	s.ds = s.es = s.fs = s.gs = s.ss;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = KIT_SEL_TSS(cpu);
	s.tr.base = KIT_TSS + cpu * KIT_TSS_SLOT;
	s.tr.limit = KIT_TSS_LIMIT;
	s.tr.type = 0xb; /* busy 64-bit TSS */
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	if ((err = kvm_ioctl(v->fd, KVM_SET_SREGS, &s)) < 0)
		return err;

	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rsp = KIT_USTACK_TOP(cpu);
	r.rflags = RFLAGS_FIXED | RFLAGS_IOPL3; /* IOPL 3: port I/O, sti, cli at CPL3 */
	r.rdi = cpu;
	r.rsi = k->opts.args[0];
	r.rdx = k->opts.args[1];
	r.rcx = k->opts.args[2];
	r.r8 = k->opts.args[3];
	if ((err = kvm_ioctl(v->fd, KVM_SET_REGS, &r)) < 0)
		return err;
	k->cpu[cpu].entered = true;
	return 0;
}

/* ---- the exit hook: ucalls, traps, AP start ---- */

static void note_thread(struct kit_vm *k, struct vcpu *v)
{
	struct kit_cpu *c = &k->cpu[v->id];

	if (!c->thread_name[0])
		pthread_getname_np(pthread_self(), c->thread_name, sizeof(c->thread_name));
}

static enum exit_hook_result stop(struct kit_vm *k, int status, const char *why)
{
	vm_request_stop(&k->vm, status, "%s", why);
	return EXIT_HOOK_STOP;
}

/* Halts a vCPU with interrupts off: it sleeps in KVM until the VM stops. */
static enum exit_hook_result park(struct kit_vm *k, struct vcpu *v)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	struct kvm_regs r;

	if (vcpu_complete_io(v) < 0 || kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return stop(k, EXIT_VMM_ERROR, "cannot park a vCPU");
	r.rflags &= ~(uint64_t)RFLAGS_IF;
	if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) < 0 ||
	    kvm_ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return stop(k, EXIT_VMM_ERROR, "cannot park a vCPU");
	return EXIT_HOOK_HANDLED;
}

static enum exit_hook_result handle_ucall(struct kit_vm *k, struct vcpu *v,
					  uint32_t gpa)
{
	struct kit_ucall uc;
	enum kit_action a = KIT_CONTINUE;

	if (gpa_read(&k->vm.mem, gpa, &uc, sizeof(uc)) < 0) {
		kit_fail(k, "vcpu%u: ucall record at 0x%x is not in guest RAM", v->id, gpa);
		return stop(k, KIT_STATUS_FAILED, "bad ucall");
	}
	uc.file[sizeof(uc.file) - 1] = 0;
	uc.text[sizeof(uc.text) - 1] = 0;
	note_thread(k, v);
	k->cpu[v->id].ucalls++;

	switch (uc.cmd) {
	case KIT_UCALL_SYNC:
		if (k->opts.on_ucall)
			a = k->opts.on_ucall(k, v, &uc);
		if (a == KIT_CONTINUE && gpa_write(&k->vm.mem, gpa, &uc, sizeof(uc)) < 0)
			a = kit_fail_stop(k, "cannot write the ucall reply");
		break;
	case KIT_UCALL_PRINT:
		if (!k->opts.quiet)
			fprintf(stderr, "guest(vcpu%u): %s\n", v->id, uc.text);
		if (k->opts.on_ucall)
			a = k->opts.on_ucall(k, v, &uc);
		break;
	case KIT_UCALL_ASSERT:
		if (uc.nargs == 2)
			kit_fail(k, "guest assertion on vcpu%u at %s:%u: %s (0x%llx vs 0x%llx)",
				 v->id, uc.file, uc.line, uc.text,
				 (unsigned long long)uc.args[0],
				 (unsigned long long)uc.args[1]);
		else
			kit_fail(k, "guest assertion on vcpu%u at %s:%u: %s", v->id,
				 uc.file, uc.line, uc.text);
		return stop(k, KIT_STATUS_FAILED, "guest assertion failed");
	case KIT_UCALL_DONE:
		return stop(k, EXIT_GUEST_OFF, "guest done");
	case KIT_UCALL_PARK:
		return park(k, v);
	default:
		kit_fail(k, "vcpu%u: unknown ucall %u", v->id, uc.cmd);
		return stop(k, KIT_STATUS_FAILED, "bad ucall");
	}
	if (a == KIT_STOP)
		return stop(k, KIT_STATUS_FAILED, "stopped by the test");
	return EXIT_HOOK_HANDLED;
}

/*
 * An iretq done by the host: PLATFORM.md says the guest cannot return from
 * CPL0 to CPL3 itself. The stub's OUT is completed first, then every
 * register is set from the frame it saved.
 */
static int resume_frame(struct vcpu *v, const struct kit_trap_frame *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	int err;

	if ((err = vcpu_complete_io(v)) < 0 ||
	    (err = kvm_ioctl(v->fd, KVM_GET_SREGS, &s)) < 0)
		return err;
	kit_segment((uint16_t)f->cs, &s.cs);
	kit_segment((uint16_t)f->ss, &s.ss);
	if ((err = kvm_ioctl(v->fd, KVM_SET_SREGS, &s)) < 0)
		return err;
	r = (struct kvm_regs){
		.rax = f->rax, .rbx = f->rbx, .rcx = f->rcx, .rdx = f->rdx,
		.rsi = f->rsi, .rdi = f->rdi, .rsp = f->rsp, .rbp = f->rbp,
		.r8 = f->r8, .r9 = f->r9, .r10 = f->r10, .r11 = f->r11,
		.r12 = f->r12, .r13 = f->r13, .r14 = f->r14, .r15 = f->r15,
		.rip = f->rip, .rflags = f->rflags,
	};
	return kvm_ioctl(v->fd, KVM_SET_REGS, &r);
}

/*
 * sti/cli at CPL3. Our machines' KVM backend runs CPL3 code with an
 * effective IOPL of 0 whatever RFLAGS says (kit_abi.h), so sti and cli fault
 * with #GP(0). The kit does what IOPL 3 would have done: flip IF and step
 * over the one-byte instruction. True if it was one of them.
 */
static bool emulate_sti_cli(struct vcpu *v, struct kit_trap *t)
{
	uint8_t insn;

	if (t->vector != 13 || t->cpl != 3 || t->error_code != 0 ||
	    vcpu_read_virt(v, t->frame.rip, &insn, 1) != 1)
		return false;
	if (insn == 0xfb)
		t->frame.rflags |= RFLAGS_IF;
	else if (insn == 0xfa)
		t->frame.rflags &= ~(uint64_t)RFLAGS_IF;
	else
		return false;
	t->frame.rip++;
	return true;
}

static enum exit_hook_result handle_trap(struct kit_vm *k, struct vcpu *v,
					 uint32_t gpa)
{
	struct kit_trap t = { .frame_gpa = gpa };
	enum kit_action a = KIT_DEFAULT;

	if (gpa_read(&k->vm.mem, gpa, &t.frame, sizeof(t.frame)) < 0) {
		kit_fail(k, "vcpu%u: trap frame at 0x%x is not in guest RAM", v->id, gpa);
		return stop(k, KIT_STATUS_FAILED, "bad trap frame");
	}
	t.vector = (unsigned)(t.frame.vector & 0xff);
	t.error_code = t.frame.error_code;
	t.cpl = (unsigned)(t.frame.cs & 3);
	if (emulate_sti_cli(v, &t)) {
		k->cpu[v->id].sti_cli++;
		if (resume_frame(v, &t.frame) < 0)
			return stop(k, EXIT_VMM_ERROR, "cannot resume the guest after sti/cli");
		return EXIT_HOOK_HANDLED;
	}
	k->cpu[v->id].traps++;
	if (k->opts.on_trap)
		a = k->opts.on_trap(k, v, &t);
	if (a == KIT_DEFAULT) {
		if (t.vector < 32) {
			vcpu_dump(v, "exception in the guest");
			a = kit_fail_stop(k, "vcpu%u: unexpected exception %s (vector %u, "
					  "error code 0x%llx) at RIP 0x%llx, CPL%u, RFLAGS 0x%llx",
					  v->id, exception_names[t.vector], t.vector,
					  (unsigned long long)t.error_code,
					  (unsigned long long)t.frame.rip, t.cpl,
					  (unsigned long long)t.frame.rflags);
		} else {
			a = KIT_CONTINUE;
		}
	}
	if (a == KIT_STOP)
		return stop(k, KIT_STATUS_FAILED, "stopped at a guest trap");
	/* at CPL0 the stub's own iretq works; only CPL3 needs the host */
	if (t.cpl == 3 && resume_frame(v, &t.frame) < 0) {
		kit_fail(k, "vcpu%u: cannot resume the guest after vector %u", v->id, t.vector);
		return stop(k, EXIT_VMM_ERROR, "cannot resume the guest");
	}
	return EXIT_HOOK_HANDLED;
}

/* An AP's trampoline ran: take it from real mode straight to long mode. */
static enum exit_hook_result handle_ap_start(struct kit_vm *k, struct vcpu *v,
					     uint16_t cs)
{
	if (v->id == 0 || v->id >= KIT_MAX_CPUS) {
		kit_fail(k, "vcpu%u ran the AP trampoline", v->id);
		return stop(k, KIT_STATUS_FAILED, "bad AP start");
	}
	k->cpu[v->id].sipi_cs = cs;
	if (vcpu_complete_io(v) < 0 ||
	    kit_enter_long_mode(k, v, v->id, k->elf.entry) < 0) {
		kit_fail(k, "cannot put vcpu%u in long mode", v->id);
		return stop(k, EXIT_VMM_ERROR, "cannot start an AP");
	}
	return EXIT_HOOK_HANDLED;
}

static enum exit_hook_result exit_hook(struct vcpu *v, void *opaque)
{
	struct kit_vm *k = opaque;
	struct kvm_run *run = v->run;
	const uint8_t *data;
	uint32_t val = 0;

	if (k->opts.on_exit) {
		enum exit_hook_result r = k->opts.on_exit(k, v);
		if (r != EXIT_HOOK_PASS)
			return r;
	}
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.count != 1)
		return EXIT_HOOK_PASS;
	data = (const uint8_t *)run + run->io.data_offset;
	memcpy(&val, data, run->io.size <= 4 ? run->io.size : 4);
	switch (run->io.port) {
	case KIT_PORT_UCALL:
		return run->io.size == 4 ? handle_ucall(k, v, val) : EXIT_HOOK_PASS;
	case KIT_PORT_TRAP:
		return run->io.size == 4 ? handle_trap(k, v, val) : EXIT_HOOK_PASS;
	case KIT_PORT_AP_START:
		return run->io.size == 2 ? handle_ap_start(k, v, (uint16_t)val)
					 : EXIT_HOOK_PASS;
	default:
		return EXIT_HOOK_PASS;
	}
}

/* ---- life cycle ---- */

static int load_image(struct kit_vm *k, const uint8_t **img, size_t *len)
{
	const struct kit_opts *o = &k->opts;
	int err;

	if (o->guest_image) {
		*img = o->guest_image;
		*len = o->guest_len;
		return 0;
	}
	if (!o->guest_path) {
		fprintf(stderr, "kit: no guest image or path\n");
		return -EINVAL;
	}
	err = read_file(o->guest_path, &k->file_image, len, 64 * MiB);
	if (err < 0) {
		fprintf(stderr, "kit: cannot read %s: %s\n", o->guest_path, strerror(-err));
		return err;
	}
	*img = k->file_image;
	return 0;
}

static int kvm_available(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("SKIP: /dev/kvm not available: %s\n", strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/* A memfd standing in for fd `fd` (struct kit_capture, in kit.h). */
static int capture_begin(struct kit_capture *c, int fd)
{
	c->fd = fd;
	c->saved = c->mem = -1;
	fflush(NULL);
	c->mem = memfd_create("kit-capture", MFD_CLOEXEC);
	c->saved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (c->mem < 0 || c->saved < 0 || dup2(c->mem, fd) < 0)
		return -errno;
	return 0;
}

/* What was written so far, NUL-terminated (NULL if nothing could be read). */
static void capture_read(struct kit_capture *c, char **out, size_t *len)
{
	off_t size;

	fflush(NULL);
	*out = NULL;
	*len = 0;
	if (c->mem < 0)
		return;
	size = lseek(c->mem, 0, SEEK_END);
	if (size >= 0 && (*out = calloc(1, (size_t)size + 1))) {
		ssize_t n = pread(c->mem, *out, (size_t)size, 0);
		*len = n > 0 ? (size_t)n : 0;
		(*out)[*len] = 0;
	}
}

static void capture_restore(struct kit_capture *c)
{
	fflush(NULL);
	if (c->saved >= 0) {
		dup2(c->saved, c->fd);
		close(c->saved);
	}
	if (c->mem >= 0)
		close(c->mem);
	c->saved = c->mem = -1;
}

static void capture_end(struct kit_capture *c, char **out, size_t *len)
{
	capture_read(c, out, len);
	capture_restore(c);
}

int kit_vm_create(struct kit_vm *k, const struct kit_opts *o)
{
	const uint8_t *img;
	const char *why = "";
	size_t len;
	sigset_t kick;
	int err;

	memset(k, 0, sizeof(*k));
	k->saved_stdin = -1;
	k->console_cap = (struct kit_capture){ -1, -1, -1 };
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->run_cond, NULL);
	k->lock_inited = true;
	k->opts = *o;
	if (!k->opts.ncpus)
		k->opts.ncpus = 1;
	if (!k->opts.mem_size)
		k->opts.mem_size = KIT_DEFAULT_MEM;
	if (!k->opts.timeout_ms)
		k->opts.timeout_ms = KIT_DEFAULT_TIMEOUT_MS;
	if (k->opts.ncpus > KIT_MAX_CPUS || k->opts.mem_size < 2 * KIT_FREE_MEM) {
		fprintf(stderr, "kit: need 1..%d vCPUs and at least %llu MiB\n",
			KIT_MAX_CPUS, (unsigned long long)(2 * KIT_FREE_MEM / MiB));
		return -EINVAL;
	}
	if (!kvm_available())
		return KIT_SKIP;
	if ((err = load_image(k, &img, &len)) < 0)
		return err;

	k->cfg.mem_size = k->opts.mem_size;
	k->cfg.ncpus = k->opts.ncpus;
	k->cfg.console = (k->opts.console || k->opts.capture_console) ? CONSOLE_STDIO
								      : CONSOLE_NONE;
	k->cfg.debug_exit_port = k->opts.debug_exit_port;
	if (!k->opts.irqchip)
		k->opts.irqchip = getenv("KIT_IRQCHIP");
	if (!k->opts.irqchip || !strcmp(k->opts.irqchip, "kernel")) {
		k->cfg.irqchip = IRQCHIP_KERNEL;
	} else if (!strcmp(k->opts.irqchip, "split")) {
		k->cfg.irqchip = IRQCHIP_SPLIT;
	} else {
		fprintf(stderr, "kit: irqchip \"%s\" is not kernel or split\n", k->opts.irqchip);
		return -EINVAL;
	}

	/*
	 * As petrel's main does: the vCPU kick signal stays blocked in every
	 * thread but the vCPU threads (they unblock it); put back by kit_destroy.
	 */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, &k->saved_sigmask);
	k->sigmask_saved = true;

	if (k->cfg.console == CONSOLE_STDIO) {
		/* petrel's console reads fd 0: give it nothing to read (see kit.h) */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		k->saved_stdin = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
			err = -errno;
			if (null >= 0)
				close(null);
			return err;
		}
		close(null);
	}

	/*
	 * The console picks how to write stdout when the VM is made (console.c:
	 * a pipe or terminal is reopened), so stdout is the memfd from now on.
	 */
	if (k->opts.capture_console && (err = capture_begin(&k->console_cap, STDOUT_FILENO)) < 0) {
		fprintf(stderr, "kit: cannot capture stdout: %s\n", strerror(-err));
		return err;
	}

	if (k->opts.configure)
		k->opts.configure(k, &k->cfg);

	k->vm_inited = true;
	if ((err = vm_create_machine(&k->vm, &k->cfg)) < 0) {
		fprintf(stderr, "kit: vm_create_machine: %s\n", strerror(-err));
		return err;
	}
	if ((err = elf_load(&k->vm.mem, img, len, &k->elf, &why)) < 0) {
		fprintf(stderr, "kit: guest ELF: %s (%s)\n", why, strerror(-err));
		return err;
	}
	if (k->elf.elf_class != 2 /* ELFCLASS64 */) {
		fprintf(stderr, "kit: the guest must be an ELF64 image\n");
		return -ENOEXEC;
	}
	if ((err = build_tables(k)) < 0) {
		fprintf(stderr, "kit: cannot build the guest tables: %s\n", strerror(-err));
		return err;
	}
	if ((err = vm_create_vcpus(&k->vm)) < 0) {
		fprintf(stderr, "kit: vm_create_vcpus: %s\n", strerror(-err));
		return err;
	}
	if ((err = kit_enter_long_mode(k, &k->vm.vcpus[0], 0, k->elf.entry)) < 0) {
		fprintf(stderr, "kit: cannot set the BSP's registers: %s\n", strerror(-err));
		return err;
	}
	k->vm.exit_hook = exit_hook;
	k->vm.exit_hook_opaque = k;
	return 0;
}

static void *watchdog(void *arg)
{
	struct kit_vm *k = arg;
	struct timespec until;
	bool fired = false;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += k->opts.timeout_ms / 1000;
	until.tv_nsec += (long)(k->opts.timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&k->lock);
	while (!k->run_done && !fired)
		fired = pthread_cond_timedwait(&k->run_cond, &k->lock, &until) == ETIMEDOUT;
	pthread_mutex_unlock(&k->lock);
	if (fired && !vm_stopping(&k->vm)) {
		kit_fail(k, "guest did not finish within %u ms", k->opts.timeout_ms);
		vm_request_stop(&k->vm, KIT_STATUS_TIMEOUT, "kit watchdog");
	}
	return NULL;
}

/*
 * After the watchdog stopped the VM: where each vCPU was, so a hang names
 * the vCPU that stalled (the vCPU threads are joined: their fds are free).
 */
static void report_stall(struct kit_vm *k)
{
	static const char *const mp_names[] = { "runnable", "uninitialized",
						"init-received", "halted", "sipi-received" };

	for (unsigned i = 0; i < k->vm.nr_vcpus; i++) {
		struct vcpu *v = &k->vm.vcpus[i];
		struct kvm_regs r;
		struct kvm_mp_state mp;
		const char *state = "?";

		if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0)
			memset(&r, 0xff, sizeof(r));
		if (kvm_ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 &&
		    mp.mp_state < sizeof(mp_names) / sizeof(mp_names[0]))
			state = mp_names[mp.mp_state];
		fprintf(stderr,
			"kit: at the timeout vcpu%u was %s at RIP=%#llx RSP=%#llx "
			"(entered %s, sipi cs %#x, %llu ucalls, %llu traps)\n",
			i, state, (unsigned long long)r.rip, (unsigned long long)r.rsp,
			k->cpu[i].entered ? "yes" : "no", k->cpu[i].sipi_cs,
			(unsigned long long)k->cpu[i].ucalls,
			(unsigned long long)k->cpu[i].traps);
	}
}

int kit_run(struct kit_vm *k)
{
	struct kit_capture err = { -1, -1, -1 };
	pthread_t wd;
	bool wd_started;
	int status;

	if (k->opts.capture_stderr && capture_begin(&err, STDERR_FILENO) < 0)
		kit_fail(k, "cannot capture stderr: %s", strerror(errno));

	k->run_done = false;
	wd_started = pthread_create(&wd, NULL, watchdog, k) == 0;
	status = vm_run(&k->vm);
	pthread_mutex_lock(&k->lock);
	k->run_done = true;
	pthread_cond_broadcast(&k->run_cond);
	pthread_mutex_unlock(&k->lock);
	if (wd_started)
		pthread_join(wd, NULL);

	if (status == KIT_STATUS_TIMEOUT)
		report_stall(k);
	if (k->opts.capture_console) {
		free(k->console_out);
		capture_read(&k->console_cap, &k->console_out, &k->console_len);
	}
	if (k->opts.capture_stderr) {
		free(k->stderr_out);
		capture_end(&err, &k->stderr_out, &k->stderr_len);
		if (k->stderr_out)
			fputs(k->stderr_out, stderr); /* keep it in the test's log */
	}
	return status;
}

void kit_destroy(struct kit_vm *k)
{
	if (k->vm_inited) {
		vm_destroy(&k->vm);
		k->vm_inited = false;
	}
	capture_restore(&k->console_cap);
	if (k->saved_stdin >= 0) {
		dup2(k->saved_stdin, STDIN_FILENO);
		close(k->saved_stdin);
		k->saved_stdin = -1;
	}
	if (k->sigmask_saved) {
		pthread_sigmask(SIG_SETMASK, &k->saved_sigmask, NULL);
		k->sigmask_saved = false;
	}
	free(k->file_image);
	free(k->console_out);
	free(k->stderr_out);
	k->file_image = NULL;
	k->console_out = k->stderr_out = NULL;
	k->console_len = k->stderr_len = 0;
}

int kit_finish(struct kit_vm *k)
{
	unsigned failures = kit_failures(k);

	kit_destroy(k);
	if (k->lock_inited) {
		pthread_cond_destroy(&k->run_cond);
		pthread_mutex_destroy(&k->lock);
		k->lock_inited = false;
	}
	return failures ? 1 : 0;
}

/* ---- leak checks ---- */

void kit_usage_now(struct kit_usage *u)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	u->fds = -1;
	if (d) {
		u->fds = 0;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				u->fds++;
		u->fds--; /* the directory's own fd */
		closedir(d);
	}
	u->heap = mallinfo2().uordblks;
}

bool kit_check_usage(const struct kit_usage *before, const struct kit_usage *after,
		     size_t heap_slack)
{
	bool ok = true;

	fprintf(stderr, "usage: fds %d -> %d, heap %zu -> %zu bytes\n", before->fds,
		after->fds, before->heap, after->heap);
	if (before->fds < 0 || after->fds != before->fds) {
		fprintf(stderr, "FAIL: open fds went from %d to %d over the VM's life\n",
			before->fds, after->fds);
		ok = false;
	}
	if (after->heap > before->heap + heap_slack) {
		fprintf(stderr, "FAIL: the heap grew by %zu bytes over the VM's life (slack %zu)\n",
			after->heap - before->heap, heap_slack);
		ok = false;
	}
	return ok;
}

int kit_finish_usage(struct kit_vm *k, const struct kit_usage *before, size_t heap_slack)
{
	struct kit_usage after;
	int r = kit_finish(k);

	kit_usage_now(&after);
	return kit_check_usage(before, &after, heap_slack) ? r : 1;
}

int kit_scratch_disk(char *path, long size)
{
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		fprintf(stderr, "FAIL: scratch disk %s: %s\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	close(fd);
	return 0;
}
