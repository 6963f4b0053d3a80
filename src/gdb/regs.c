/*
 * x86-64 registers for the GDB stub (gdb_regs.h): gdb's numbering, the
 * target description that announces it, and the conversion from and to
 * KVM's kvm_regs, kvm_sregs and kvm_fpu.
 */
#include <errno.h>
#include <string.h>

#include "petrel/gdb_regs.h"
#include "petrel/util.h"

enum reg_kind {
	R_GPR, R_RIP, R_EFLAGS, R_SEG, R_ST, R_FCTRL, R_FSTAT, R_FTAG,
	R_FISEG, R_FIOFF, R_FOSEG, R_FOOFF, R_FOP, R_XMM, R_MXCSR,
	R_FS_BASE, R_GS_BASE, R_CR0, R_CR2, R_CR3, R_CR4, R_CR8, R_EFER,
};

struct reg_desc {
	const char *name;
	uint8_t size;
	uint8_t kind;
	uint8_t index; /* GPR, segment, st or xmm number */
};

#define GPR(n, i) { n, 8, R_GPR, i }
#define SEG(n, i) { n, 4, R_SEG, i }
#define ST(i) { "st" #i, 10, R_ST, i }
#define XMM(i) { "xmm" #i, 16, R_XMM, i }

static const struct reg_desc regs[GDB_NR_REGS] = {
	GPR("rax", 0), GPR("rbx", 1), GPR("rcx", 2), GPR("rdx", 3),
	GPR("rsi", 4), GPR("rdi", 5), GPR("rbp", 6), GPR("rsp", 7),
	GPR("r8", 8), GPR("r9", 9), GPR("r10", 10), GPR("r11", 11),
	GPR("r12", 12), GPR("r13", 13), GPR("r14", 14), GPR("r15", 15),
	{ "rip", 8, R_RIP, 0 }, { "eflags", 4, R_EFLAGS, 0 },
	SEG("cs", 0), SEG("ss", 1), SEG("ds", 2), SEG("es", 3), SEG("fs", 4), SEG("gs", 5),
	ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7),
	{ "fctrl", 4, R_FCTRL, 0 }, { "fstat", 4, R_FSTAT, 0 }, { "ftag", 4, R_FTAG, 0 },
	{ "fiseg", 4, R_FISEG, 0 }, { "fioff", 4, R_FIOFF, 0 }, { "foseg", 4, R_FOSEG, 0 },
	{ "fooff", 4, R_FOOFF, 0 }, { "fop", 4, R_FOP, 0 },
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
	{ "mxcsr", 4, R_MXCSR, 0 },
	{ "fs_base", 8, R_FS_BASE, 0 }, { "gs_base", 8, R_GS_BASE, 0 },
	{ "cr0", 8, R_CR0, 0 }, { "cr2", 8, R_CR2, 0 }, { "cr3", 8, R_CR3, 0 },
	{ "cr4", 8, R_CR4, 0 }, { "cr8", 8, R_CR8, 0 }, { "efer", 8, R_EFER, 0 },
};

/* gdb's GPR order against kvm_regs' (which has rsp before rbp) */
static __u64 *gpr(struct kvm_regs *r, unsigned i)
{
	__u64 *const p[16] = {
		&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
		&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
	};
	return p[i];
}

static struct kvm_segment *seg(struct kvm_sregs *s, unsigned i)
{
	struct kvm_segment *const p[6] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs };
	return p[i];
}

const char *gdb_reg_name(unsigned regno)
{
	return regno < GDB_NR_REGS ? regs[regno].name : NULL;
}

int gdb_reg_layout(unsigned regno, size_t *off, size_t *size)
{
	size_t o = 0;

	if (regno >= GDB_NR_REGS)
		return -EINVAL;
	for (unsigned i = 0; i < regno; i++)
		o += regs[i].size;
	*off = o;
	*size = regs[regno].size;
	return 0;
}

static void put(uint8_t *buf, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *buf, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

/*
 * FXSAVE (and so KVM_GET_FPU) keeps one "not empty" bit per x87 register;
 * gdb shows the full tag word, two bits each, which the value of a
 * non-empty register decides: 0 valid, 1 zero, 2 special, 3 empty (the SDM's
 * "Recreating FSAVE format" section). Registers are physical here, and
 * fpr[] is in stack order starting at TOP.
 */
static uint16_t full_tag(const struct kvm_fpu *f)
{
	unsigned top = (f->fsw >> 11) & 7;
	uint16_t tag = 0;

	for (unsigned phys = 0; phys < 8; phys++) {
		const uint8_t *r = f->fpr[(phys - top) & 7];
		uint16_t exp = (uint16_t)(get(r + 8, 2) & 0x7fff);
		uint64_t mant = get(r, 8);
		unsigned t;

		if (!(f->ftwx & (1u << phys)))
			t = 3;
		else if (exp == 0x7fff)
			t = 2;
		else if (exp == 0)
			t = mant ? 2 : 1;
		else
			t = (mant >> 63) ? 0 : 2;
		tag |= (uint16_t)(t << (2 * phys));
	}
	return tag;
}

static uint8_t abridged_tag(uint16_t full)
{
	uint8_t t = 0;

	for (unsigned phys = 0; phys < 8; phys++)
		if (((full >> (2 * phys)) & 3) != 3)
			t |= (uint8_t)(1u << phys);
	return t;
}

int gdb_reg_get(const struct gdb_cpu_state *cs, unsigned regno, uint8_t *buf)
{
	/* the accessors take non-const pointers; nothing is written here */
	struct gdb_cpu_state *s = (struct gdb_cpu_state *)cs;
	const struct reg_desc *d;
	uint64_t v = 0;

	if (regno >= GDB_NR_REGS)
		return -EINVAL;
	d = &regs[regno];
	switch (d->kind) {
	case R_GPR: v = *gpr(&s->regs, d->index); break;
	case R_RIP: v = s->regs.rip; break;
	case R_EFLAGS: v = s->regs.rflags; break;
	case R_SEG: v = seg(&s->sregs, d->index)->selector; break;
	case R_ST: memcpy(buf, s->fpu.fpr[d->index], 10); return 0;
	case R_FCTRL: v = s->fpu.fcw; break;
	case R_FSTAT: v = s->fpu.fsw; break;
	case R_FTAG: v = full_tag(&s->fpu); break;
	case R_FISEG: v = s->fpu.last_ip >> 32; break;
	case R_FIOFF: v = (uint32_t)s->fpu.last_ip; break;
	case R_FOSEG: v = s->fpu.last_dp >> 32; break;
	case R_FOOFF: v = (uint32_t)s->fpu.last_dp; break;
	case R_FOP: v = s->fpu.last_opcode & 0x7ff; break;
	case R_XMM: memcpy(buf, s->fpu.xmm[d->index], 16); return 0;
	case R_MXCSR: v = s->fpu.mxcsr; break;
	case R_FS_BASE: v = s->sregs.fs.base; break;
	case R_GS_BASE: v = s->sregs.gs.base; break;
	case R_CR0: v = s->sregs.cr0; break;
	case R_CR2: v = s->sregs.cr2; break;
	case R_CR3: v = s->sregs.cr3; break;
	case R_CR4: v = s->sregs.cr4; break;
	case R_CR8: v = s->sregs.cr8; break;
	case R_EFER: v = s->sregs.efer; break;
	}
	put(buf, v, d->size);
	return 0;
}

int gdb_reg_set(struct gdb_cpu_state *s, unsigned regno, const uint8_t *buf)
{
	const struct reg_desc *d;
	uint64_t v;

	if (regno >= GDB_NR_REGS)
		return -EINVAL;
	d = &regs[regno];
	v = d->size <= 8 ? get(buf, d->size) : 0;
	switch (d->kind) {
	case R_GPR: *gpr(&s->regs, d->index) = v; break;
	case R_RIP: s->regs.rip = v; break;
	/* eflags is 32 bits to gdb; the upper half of rflags is reserved */
	case R_EFLAGS: s->regs.rflags = v; break;
	case R_SEG:
		if (seg(&s->sregs, d->index)->selector != v)
			return -EINVAL;
		break;
	case R_ST: memcpy(s->fpu.fpr[d->index], buf, 10); break;
	case R_FCTRL: s->fpu.fcw = (uint16_t)v; break;
	case R_FSTAT: s->fpu.fsw = (uint16_t)v; break;
	case R_FTAG: s->fpu.ftwx = abridged_tag((uint16_t)v); break;
	case R_FISEG: s->fpu.last_ip = (s->fpu.last_ip & 0xffffffffu) | v << 32; break;
	case R_FIOFF: s->fpu.last_ip = (s->fpu.last_ip & ~0xffffffffull) | v; break;
	case R_FOSEG: s->fpu.last_dp = (s->fpu.last_dp & 0xffffffffu) | v << 32; break;
	case R_FOOFF: s->fpu.last_dp = (s->fpu.last_dp & ~0xffffffffull) | v; break;
	case R_FOP: s->fpu.last_opcode = (uint16_t)(v & 0x7ff); break;
	case R_XMM: memcpy(s->fpu.xmm[d->index], buf, 16); break;
	case R_MXCSR: s->fpu.mxcsr = (uint32_t)v; break;
	case R_FS_BASE: s->sregs.fs.base = v; break;
	case R_GS_BASE: s->sregs.gs.base = v; break;
	case R_CR0: s->sregs.cr0 = v; break;
	case R_CR2: s->sregs.cr2 = v; break;
	case R_CR3: s->sregs.cr3 = v; break;
	case R_CR4: s->sregs.cr4 = v; break;
	case R_CR8: s->sregs.cr8 = v; break;
	case R_EFER: s->sregs.efer = v; break;
	}
	return 0;
}

void gdb_regs_pack(const struct gdb_cpu_state *s, uint8_t out[GDB_REGS_SIZE])
{
	size_t o = 0;

	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		gdb_reg_get(s, i, out + o);
		o += regs[i].size;
	}
}

int gdb_regs_unpack(struct gdb_cpu_state *s, const uint8_t in[GDB_REGS_SIZE])
{
	struct gdb_cpu_state t = *s;
	size_t o = 0;

	for (unsigned i = 0; i < GDB_NR_REGS; i++) {
		if (gdb_reg_set(&t, i, in + o) < 0)
			return -EINVAL;
		o += regs[i].size;
	}
	*s = t;
	return 0;
}

/*
 * Registers are numbered in the order they appear, which is the order of
 * regs[] (the unit test checks the two agree). Feature and type names are
 * the ones gdb's own amd64 descriptions use, so gdb recognises the core,
 * SSE and segment features and shows xmm registers as vectors; the system
 * registers form a feature of our own.
 */
static const char target_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386:x86-64</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"i386_eflags\" size=\"4\">\n"
	" <field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"PF\" start=\"2\" end=\"2\"/>\n"
	" <field name=\"AF\" start=\"4\" end=\"4\"/><field name=\"ZF\" start=\"6\" end=\"6\"/>\n"
	" <field name=\"SF\" start=\"7\" end=\"7\"/><field name=\"TF\" start=\"8\" end=\"8\"/>\n"
	" <field name=\"IF\" start=\"9\" end=\"9\"/><field name=\"DF\" start=\"10\" end=\"10\"/>\n"
	" <field name=\"OF\" start=\"11\" end=\"11\"/><field name=\"NT\" start=\"14\" end=\"14\"/>\n"
	" <field name=\"RF\" start=\"16\" end=\"16\"/><field name=\"VM\" start=\"17\" end=\"17\"/>\n"
	" <field name=\"AC\" start=\"18\" end=\"18\"/><field name=\"VIF\" start=\"19\" end=\"19\"/>\n"
	" <field name=\"VIP\" start=\"20\" end=\"20\"/><field name=\"ID\" start=\"21\" end=\"21\"/>\n"
	"</flags>\n"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	"<union id=\"vec128\">\n"
	" <field name=\"v4_float\" type=\"v4f\"/>\n"
	" <field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>\n"
	" <field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>\n"
	" <field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>\n"
	"</union>\n"
	"<flags id=\"i386_mxcsr\" size=\"4\">\n"
	" <field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>\n"
	" <field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>\n"
	" <field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>\n"
	" <field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>\n"
	" <field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
	" <field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>\n"
	" <field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
	"</flags>\n"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.segments\">\n"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>\n"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
	"</feature>\n"
	"<feature name=\"org.petrel.x86.sys\">\n"
	"<reg name=\"cr0\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"</feature>\n"
	"</target>\n";

const char *gdb_target_xml(size_t *len)
{
	*len = sizeof(target_xml) - 1;
	return target_xml;
}
