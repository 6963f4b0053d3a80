/*
 * The GDB stub's protocol engine (gdb_stub.h): packets in, replies out,
 * the target behind ops. What gdb may send is untrusted: every number is
 * parsed with bounds and every length checked against the reply buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "petrel/gdb_stub.h"
#include "petrel/util.h"

#define E_FAULT 14
#define E_INVAL 22
#define E_NOSPC 28

/* DR6 and DR7 bits (SDM vol. 3, 18.2) */
#define DR6_BS (1u << 14)
#define DR7_GE (1u << 9)

void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops,
		      void *target, unsigned nr_cpus)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->target = target;
	s->nr_cpus = MIN(nr_cpus, GDB_MAX_CPUS);
	s->g_cpu = -1;
	s->c_cpu = -1;
	snprintf(s->last_stop, sizeof(s->last_stop), "T05thread:1;");
}

static void r_str(struct gdb_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void r_str(struct gdb_reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)r->buf, sizeof(r->buf), fmt, ap);
	va_end(ap);
	r->len = n < 0 ? 0 : MIN((size_t)n, sizeof(r->buf) - 1);
}

static enum gdb_action r_err(struct gdb_reply *r, int code)
{
	r_str(r, "E%02x", code & 0xff);
	return GDB_REPLY;
}

static enum gdb_action r_ok(struct gdb_reply *r)
{
	r_str(r, "OK");
	return GDB_REPLY;
}

/* The vCPU register and memory packets act on (Hg). */
static unsigned g_cpu(const struct gdb_session *s)
{
	return s->g_cpu >= 0 ? (unsigned)s->g_cpu : s->stop_cpu;
}

/* "addr,len" at *p: advances past it. */
static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
	if (gdb_parse_hex(p, addr) < 0 || **p != ',')
		return -EINVAL;
	(*p)++;
	return gdb_parse_hex(p, len);
}

/*
 * A thread id: "-1" (all), "0" (any) or a hex id; sets *cpu to -1 for all
 * and any, else the vCPU. -EINVAL for garbage or a thread that does not
 * exist.
 */
static int parse_thread(const struct gdb_session *s, const char **p, int *cpu)
{
	uint64_t id;

	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*cpu = -1;
		return 0;
	}
	if (gdb_parse_hex(p, &id) < 0)
		return -EINVAL;
	if (id == 0) {
		*cpu = -1;
		return 0;
	}
	if (id > s->nr_cpus)
		return -EINVAL;
	*cpu = (int)(id - 1);
	return 0;
}

static struct gdb_sw_bp *find_sw(struct gdb_session *s, uint64_t addr)
{
	for (unsigned i = 0; i < s->nr_sw; i++)
		if (s->sw[i].addr == addr)
			return &s->sw[i];
	return NULL;
}

void gdb_session_debug(const struct gdb_session *s, struct gdb_debug *d)
{
	/* RW: 00 execute, 01 write, 11 read or write; LEN: 00 1, 01 2, 11 4, 10 8 */
	static const uint8_t rw[5] = { 0, 0, 1, 3, 3 };

	memset(d, 0, sizeof(*d));
	d->sw_bp = s->nr_sw > 0;
	d->nr_sw = s->nr_sw;
	for (unsigned i = 0; i < s->nr_sw; i++)
		d->sw_addr[i] = s->sw[i].addr;
	for (unsigned i = 0; i < GDB_NR_HW_BP; i++) {
		const struct gdb_hw_bp *h = &s->hw[i];
		uint64_t len;

		if (!h->used)
			continue;
		len = h->type == 1 ? 0 : h->len == 2 ? 1 : h->len == 4 ? 3 : h->len == 8 ? 2 : 0;
		d->hw_bp = true;
		d->dr[i] = h->addr;
		d->dr7 |= 2ull << (2 * i) | (uint64_t)rw[h->type] << (16 + 4 * i) |
			  len << (18 + 4 * i);
	}
	if (d->hw_bp)
		d->dr7 |= DR7_GE;
}

static int do_resume(struct gdb_session *s)
{
	struct gdb_debug d;

	gdb_session_debug(s, &d);
	return s->ops->resume(s->target, s->run, &d);
}

/* Memory as the guest has it: our int3s replaced by the bytes they hide. */
static enum gdb_action read_mem(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	uint8_t data[(GDB_PKT_MAX - 1) / 2];
	uint64_t addr, len;
	int n;

	if (parse_addr_len(&p, &addr, &len) < 0 || *p)
		return r_err(r, E_INVAL);
	len = MIN(len, sizeof(data));
	n = s->ops->read_mem(s->target, g_cpu(s), addr, data, (size_t)len);
	if (n <= 0)
		return r_err(r, E_FAULT);
	for (unsigned i = 0; i < s->nr_sw; i++) {
		uint64_t off = s->sw[i].addr - addr;
		if (off < (uint64_t)n)
			data[off] = s->sw[i].orig;
	}
	r->len = gdb_hex_encode(data, (size_t)n, (char *)r->buf);
	return GDB_REPLY;
}

/* A write over one of our int3s changes the byte it hides, not the int3. */
static enum gdb_action write_mem(struct gdb_session *s, uint64_t addr, uint8_t *data,
				 size_t len, struct gdb_reply *r)
{
	int n;

	for (unsigned i = 0; i < s->nr_sw; i++) {
		uint64_t off = s->sw[i].addr - addr;
		if (off < len) {
			s->sw[i].orig = data[off];
			data[off] = 0xcc;
		}
	}
	if (!len)
		return r_ok(r);
	n = s->ops->write_mem(s->target, g_cpu(s), addr, data, len);
	return n == (int)len ? r_ok(r) : r_err(r, E_FAULT);
}

static enum gdb_action write_mem_hex(struct gdb_session *s, const char *p, const char *end,
				     struct gdb_reply *r)
{
	uint8_t data[GDB_PKT_MAX / 2];
	uint64_t addr, len;

	if (parse_addr_len(&p, &addr, &len) < 0 || *p++ != ':' || len > sizeof(data) ||
	    (uint64_t)(end - p) != 2 * len || gdb_hex_decode(p, (size_t)len, data) < 0)
		return r_err(r, E_INVAL);
	return write_mem(s, addr, data, (size_t)len, r);
}

/* 'X': the data is binary (escapes already undone by the framing layer). */
static enum gdb_action write_mem_bin(struct gdb_session *s, const char *p, const char *end,
				     struct gdb_reply *r)
{
	uint8_t data[GDB_PKT_MAX];
	uint64_t addr, len;

	if (parse_addr_len(&p, &addr, &len) < 0 || *p++ != ':' ||
	    (uint64_t)(end - p) != len || len > sizeof(data))
		return r_err(r, E_INVAL);
	memcpy(data, p, (size_t)len);
	return write_mem(s, addr, data, (size_t)len, r);
}

static enum gdb_action insert_sw(struct gdb_session *s, uint64_t addr, struct gdb_reply *r)
{
	struct gdb_sw_bp *b = find_sw(s, addr);
	uint8_t orig, cc = 0xcc;

	if (b)
		return r_ok(r);
	if (s->nr_sw == GDB_MAX_SW_BP)
		return r_err(r, E_NOSPC);
	if (s->ops->read_mem(s->target, g_cpu(s), addr, &orig, 1) != 1 ||
	    s->ops->write_mem(s->target, g_cpu(s), addr, &cc, 1) != 1)
		return r_err(r, E_FAULT);
	s->sw[s->nr_sw++] = (struct gdb_sw_bp){ .addr = addr, .orig = orig };
	return r_ok(r);
}

static int remove_sw(struct gdb_session *s, struct gdb_sw_bp *b)
{
	int n = s->ops->write_mem(s->target, g_cpu(s), b->addr, &b->orig, 1);

	/* gone from the table even if its page went away meanwhile */
	*b = s->sw[--s->nr_sw];
	return n == 1 ? 0 : -EFAULT;
}

/* Z/z: type 0 software, 1 hardware, 2 write, 3 read, 4 access watchpoint. */
static enum gdb_action breakpoint(struct gdb_session *s, bool insert, const char *p,
				  struct gdb_reply *r)
{
	uint64_t type, addr, kind;
	struct gdb_hw_bp *free_slot = NULL;

	if (gdb_parse_hex(&p, &type) < 0 || *p++ != ',' ||
	    parse_addr_len(&p, &addr, &kind) < 0 || (*p && *p != ';'))
		return r_err(r, E_INVAL);
	if (type > 4) {
		r->len = 0; /* not supported */
		return GDB_REPLY;
	}
	if (type == 0) {
		struct gdb_sw_bp *b = find_sw(s, addr);
		if (insert)
			return insert_sw(s, addr, r);
		if (!b)
			return r_err(r, E_INVAL);
		return remove_sw(s, b) < 0 ? r_err(r, E_FAULT) : r_ok(r);
	}
	if (type == 1)
		kind = 1;
	else if ((kind != 1 && kind != 2 && kind != 4 && kind != 8) || addr % kind)
		return r_err(r, E_INVAL); /* a debug register watches an aligned 1, 2, 4 or 8 */
	for (unsigned i = 0; i < GDB_NR_HW_BP; i++) {
		struct gdb_hw_bp *h = &s->hw[i];
		if (!h->used) {
			if (!free_slot)
				free_slot = h;
			continue;
		}
		if (h->type == type && h->addr == addr && h->len == kind) {
			if (!insert)
				h->used = false;
			return r_ok(r);
		}
	}
	if (!insert)
		return r_err(r, E_INVAL);
	if (!free_slot)
		return r_err(r, E_NOSPC);
	*free_slot = (struct gdb_hw_bp){ .used = true, .type = (uint8_t)type,
					 .len = (uint8_t)kind, .addr = addr };
	return r_ok(r);
}

static enum gdb_action regs_read(struct gdb_session *s, struct gdb_reply *r)
{
	struct gdb_cpu_state st;
	uint8_t raw[GDB_REGS_SIZE];

	if (s->ops->get_state(s->target, g_cpu(s), &st) < 0)
		return r_err(r, E_FAULT);
	gdb_regs_pack(&st, raw);
	r->len = gdb_hex_encode(raw, sizeof(raw), (char *)r->buf);
	return GDB_REPLY;
}

static enum gdb_action regs_write(struct gdb_session *s, const char *p, size_t len,
				  struct gdb_reply *r)
{
	struct gdb_cpu_state st;
	uint8_t raw[GDB_REGS_SIZE];

	if (len != 2 * sizeof(raw) || gdb_hex_decode(p, sizeof(raw), raw) < 0)
		return r_err(r, E_INVAL);
	if (s->ops->get_state(s->target, g_cpu(s), &st) < 0)
		return r_err(r, E_FAULT);
	if (gdb_regs_unpack(&st, raw) < 0)
		return r_err(r, E_INVAL);
	return s->ops->set_state(s->target, g_cpu(s), &st) < 0 ? r_err(r, E_FAULT) : r_ok(r);
}

/* 'p N' and 'P N=value' */
static enum gdb_action reg_one(struct gdb_session *s, bool write, const char *p,
			       const char *end, struct gdb_reply *r)
{
	struct gdb_cpu_state st;
	uint8_t val[16];
	uint64_t regno;
	size_t off, size;

	if (gdb_parse_hex(&p, &regno) < 0 || regno >= GDB_NR_REGS)
		return r_err(r, E_INVAL);
	gdb_reg_layout((unsigned)regno, &off, &size);
	if (write && (*p++ != '=' || (size_t)(end - p) != 2 * size ||
		      gdb_hex_decode(p, size, val) < 0))
		return r_err(r, E_INVAL);
	if (!write && *p)
		return r_err(r, E_INVAL);
	if (s->ops->get_state(s->target, g_cpu(s), &st) < 0)
		return r_err(r, E_FAULT);
	if (!write) {
		gdb_reg_get(&st, (unsigned)regno, val);
		r->len = gdb_hex_encode(val, size, (char *)r->buf);
		return GDB_REPLY;
	}
	if (gdb_reg_set(&st, (unsigned)regno, val) < 0)
		return r_err(r, E_INVAL);
	return s->ops->set_state(s->target, g_cpu(s), &st) < 0 ? r_err(r, E_FAULT) : r_ok(r);
}

/* 'c [addr]' / 's [addr]': continue everything, or step the Hc thread. */
static enum gdb_action legacy_resume(struct gdb_session *s, bool step, const char *p,
				     struct gdb_reply *r)
{
	unsigned cpu = s->c_cpu >= 0 ? (unsigned)s->c_cpu : s->stop_cpu;

	if (*p) {
		struct gdb_cpu_state st;
		uint64_t addr;
		if (gdb_parse_hex(&p, &addr) < 0 || *p)
			return r_err(r, E_INVAL);
		if (s->ops->get_state(s->target, cpu, &st) < 0)
			return r_err(r, E_FAULT);
		st.regs.rip = addr;
		if (s->ops->set_state(s->target, cpu, &st) < 0)
			return r_err(r, E_FAULT);
	}
	for (unsigned i = 0; i < s->nr_cpus; i++)
		s->run[i] = step ? (i == cpu ? GDB_RUN_STEP : GDB_RUN_STOPPED) : GDB_RUN_CONT;
	return do_resume(s) < 0 ? r_err(r, E_FAULT) : GDB_RESUMED;
}

/*
 * "vCont;ACTION[:THREAD];...": each vCPU takes the first action that names
 * it or names no thread; one no action names stays stopped.
 */
static enum gdb_action vcont(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	bool set[GDB_MAX_CPUS] = { false };
	enum gdb_run run[GDB_MAX_CPUS];
	bool any = false;

	for (unsigned i = 0; i < s->nr_cpus; i++)
		run[i] = GDB_RUN_STOPPED;
	while (*p == ';') {
		enum gdb_run act;
		int cpu = -1;
		uint64_t sig;

		p++;
		switch (*p++) {
		case 'c': act = GDB_RUN_CONT; break;
		case 's': act = GDB_RUN_STEP; break;
		case 't': act = GDB_RUN_STOPPED; break;
		/* a signal makes no sense to a vCPU: C and S act as c and s */
		case 'C': act = GDB_RUN_CONT; goto signal;
		case 'S': act = GDB_RUN_STEP;
		signal:
			if (gdb_parse_hex(&p, &sig) < 0)
				return r_err(r, E_INVAL);
			break;
		default:
			return r_err(r, E_INVAL);
		}
		if (*p == ':') {
			p++;
			if (parse_thread(s, &p, &cpu) < 0)
				return r_err(r, E_INVAL);
		}
		if (*p && *p != ';')
			return r_err(r, E_INVAL);
		for (unsigned i = 0; i < s->nr_cpus; i++) {
			if (set[i] || (cpu >= 0 && (unsigned)cpu != i))
				continue;
			set[i] = true;
			run[i] = act;
		}
	}
	if (*p)
		return r_err(r, E_INVAL);
	for (unsigned i = 0; i < s->nr_cpus; i++)
		any |= run[i] != GDB_RUN_STOPPED;
	if (!any)
		return r_err(r, E_INVAL); /* nothing would run: no stop would come */
	memcpy(s->run, run, sizeof(run[0]) * s->nr_cpus);
	return do_resume(s) < 0 ? r_err(r, E_FAULT) : GDB_RESUMED;
}

static enum gdb_action xfer_features(const char *p, struct gdb_reply *r)
{
	static const char prefix[] = "target.xml:";
	uint64_t off, len;
	size_t xml_len;
	const char *xml = gdb_target_xml(&xml_len);

	if (strncmp(p, prefix, sizeof(prefix) - 1)) {
		r_str(r, "E00"); /* an annex we do not have */
		return GDB_REPLY;
	}
	p += sizeof(prefix) - 1;
	if (parse_addr_len(&p, &off, &len) < 0 || *p)
		return r_err(r, E_INVAL);
	if (off >= xml_len) {
		r_str(r, "l");
		return GDB_REPLY;
	}
	len = MIN(len, MIN(xml_len - off, sizeof(r->buf) - 1));
	r->buf[0] = off + len < xml_len ? 'm' : 'l';
	memcpy(r->buf + 1, xml + off, (size_t)len);
	r->len = (size_t)len + 1;
	return GDB_REPLY;
}

static enum gdb_action query(struct gdb_session *s, const char *p, struct gdb_reply *r)
{
	if (!strncmp(p, "qSupported", 10)) {
		r_str(r, "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
			 "vContSupported+;QStartNoAckMode+", GDB_PKT_MAX);
	} else if (!strncmp(p, "qXfer:features:read:", 20)) {
		return xfer_features(p + 20, r);
	} else if (!strcmp(p, "qAttached")) {
		r_str(r, "1"); /* detaching leaves the guest running */
	} else if (!strcmp(p, "qC")) {
		r_str(r, "QC%x", s->stop_cpu + 1);
	} else if (!strcmp(p, "qfThreadInfo")) {
		size_t n = 0;
		r->buf[n++] = 'm';
		for (unsigned i = 0; i < s->nr_cpus && n + 8 < sizeof(r->buf); i++)
			n += (size_t)snprintf((char *)r->buf + n, sizeof(r->buf) - n,
					      i ? ",%x" : "%x", i + 1);
		r->len = n;
	} else if (!strcmp(p, "qsThreadInfo")) {
		r_str(r, "l");
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		const char *q = p + 17;
		char name[16];
		int cpu;
		if (parse_thread(s, &q, &cpu) < 0 || cpu < 0 || *q)
			return r_err(r, E_INVAL);
		snprintf(name, sizeof(name), "vcpu%d", cpu);
		r->len = gdb_hex_encode(name, strlen(name), (char *)r->buf);
	} else if (!strncmp(p, "qSymbol:", 8)) {
		return r_ok(r); /* no symbols wanted */
	} else {
		r->len = 0;
	}
	return GDB_REPLY;
}

enum gdb_action gdb_session_packet(struct gdb_session *s, const uint8_t *pkt, size_t len,
				   struct gdb_reply *r)
{
	char cmd[GDB_PKT_MAX + 1];
	const char *p = cmd + 1, *end = cmd + len;
	int cpu;

	r->len = 0;
	if (!len || len > GDB_PKT_MAX)
		return GDB_REPLY;
	/* a NUL inside a text packet ends it early: 'X' carries binary */
	memcpy(cmd, pkt, len);
	cmd[len] = 0;
	switch (cmd[0]) {
	case '?':
		r_str(r, "%s", s->last_stop);
		return GDB_REPLY;
	case 'g':
		return regs_read(s, r);
	case 'G':
		return regs_write(s, p, (size_t)(end - p), r);
	case 'p':
		return reg_one(s, false, p, end, r);
	case 'P':
		return reg_one(s, true, p, end, r);
	case 'm':
		return read_mem(s, p, r);
	case 'M':
		return write_mem_hex(s, p, end, r);
	case 'X':
		return write_mem_bin(s, p, end, r);
	case 'Z':
	case 'z':
		return breakpoint(s, cmd[0] == 'Z', p, r);
	case 'c':
	case 's':
		return legacy_resume(s, cmd[0] == 's', p, r);
	case 'H':
		if ((*p != 'g' && *p != 'c') || (p++, parse_thread(s, &p, &cpu) < 0) || *p)
			return r_err(r, E_INVAL);
		if (cmd[1] == 'g')
			s->g_cpu = cpu;
		else
			s->c_cpu = cpu;
		return r_ok(r);
	case 'T':
		if (parse_thread(s, &p, &cpu) < 0 || *p)
			return r_err(r, E_INVAL);
		return r_ok(r);
	case 'D':
		if (gdb_session_release(s) < 0)
			return r_err(r, E_FAULT);
		r_ok(r);
		return GDB_DETACH;
	case 'k':
		s->ops->kill(s->target);
		return GDB_KILLED;
	case 'q':
		return query(s, cmd, r);
	case 'Q':
		if (!strcmp(cmd, "QStartNoAckMode")) {
			s->no_ack = true; /* the server acks this one still */
			return r_ok(r);
		}
		return GDB_REPLY;
	case 'v':
		if (!strcmp(cmd, "vCont?")) {
			r_str(r, "vCont;c;C;s;S;t");
			return GDB_REPLY;
		}
		if (!strncmp(cmd, "vCont;", 6))
			return vcont(s, cmd + 5, r);
		if (!strncmp(cmd, "vKill;", 6)) {
			s->ops->kill(s->target);
			r_ok(r);
			return GDB_DETACH;
		}
		return GDB_REPLY; /* vMustReplyEmpty and what we do not know */
	default:
		return GDB_REPLY;
	}
}

static size_t stop_reason(const struct gdb_session *s, const struct gdb_stop *ev,
			  char *buf, size_t cap)
{
	static const char *const watch[5] = { NULL, NULL, "watch", "rwatch", "awatch" };

	if (ev->exception == 3)
		return find_sw((struct gdb_session *)s, ev->pc)
			       ? (size_t)snprintf(buf, cap, "swbreak:;") : 0;
	for (unsigned i = 0; i < GDB_NR_HW_BP; i++) {
		const struct gdb_hw_bp *h = &s->hw[i];
		if (!h->used || !(ev->dr6 & (1u << i)))
			continue;
		if (h->type == 1)
			return (size_t)snprintf(buf, cap, "hwbreak:;");
		return (size_t)snprintf(buf, cap, "%s:%llx;", watch[h->type],
					(unsigned long long)h->addr);
	}
	return 0; /* a single step (DR6.BS), or a #DB gdb has no name for */
}

void gdb_session_stopped(struct gdb_session *s, const struct gdb_stop *ev,
			 struct gdb_reply *r)
{
	char why[64] = "";
	unsigned sig = 5; /* SIGTRAP */

	switch (ev->kind) {
	case GDB_STOP_EXITED:
		snprintf(s->last_stop, sizeof(s->last_stop), "W%02x", ev->status & 0xff);
		r_str(r, "%s", s->last_stop);
		return;
	case GDB_STOP_INTERRUPT:
		sig = 2; /* SIGINT */
		break;
	case GDB_STOP_ATTACH:
		break;
	case GDB_STOP_DEBUG:
		stop_reason(s, ev, why, sizeof(why));
		break;
	}
	/*
	 * Hg and Hc stay as gdb set them: gdb remembers what it sent and
	 * does not send them again after a stop.
	 */
	s->stop_cpu = ev->cpu < s->nr_cpus ? ev->cpu : 0;
	snprintf(s->last_stop, sizeof(s->last_stop), "T%02xthread:%x;%s", sig,
		 s->stop_cpu + 1, why);
	r_str(r, "%s", s->last_stop);
}

int gdb_session_release(struct gdb_session *s)
{
	int err = 0;

	while (s->nr_sw)
		if (remove_sw(s, &s->sw[s->nr_sw - 1]) < 0)
			err = -EFAULT;
	memset(s->hw, 0, sizeof(s->hw));
	for (unsigned i = 0; i < s->nr_cpus; i++)
		s->run[i] = GDB_RUN_CONT;
	if (do_resume(s) < 0)
		err = -EIO;
	return err;
}
