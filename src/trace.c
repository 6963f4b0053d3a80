/* Tracing: parsing --trace, the line writer, access and ioctl events (trace.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "petrel/bus.h"
#include "petrel/mono_clock.h"
#include "petrel/trace.h"
#include "petrel/util.h"

static const struct {
	const char *name;
	unsigned cls;
} classes[] = {
	{ "pio", TRACE_PIO },
	{ "mmio", TRACE_MMIO },
	{ "irq", TRACE_IRQ },
	{ "virtio", TRACE_VIRTIO },
	{ "exits", TRACE_EXITS },
	{ "kvm", TRACE_KVM },
};

const char *trace_class_name(unsigned cls)
{
	for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
		if (classes[i].cls == cls)
			return classes[i].name;
	return "?";
}

const char *trace_help(void)
{
	return "--trace EVENTS[:FILE]: one line per event, to FILE (created or\n"
	       "truncated) or to stderr. EVENTS is a comma-separated list of:\n"
	       "  pio         port I/O: port, size, data, device and offset\n"
	       "  mmio        MMIO: guest-physical address, size, data, device and offset\n"
	       "  irq         interrupts: the raising device, GSI, IOAPIC pin and its\n"
	       "              redirection entry (vector, delivery, trigger, destination,\n"
	       "              mask), MSI and MSI-X messages decoded, MSI route changes\n"
	       "  virtio      virtqueue kicks (notifications), used-ring pushes\n"
	       "              (completions) and the interrupts they raise\n"
	       "  exits       every KVM exit: its reason, and the port or address of an\n"
	       "              I/O or MMIO exit\n"
	       "  kvm         KVM ioctls petrel makes once the VM exists (KVM_IRQ_LINE,\n"
	       "              KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,\n"
	       "              KVM_SET_USER_MEMORY_REGION, KVM_SET_MP_STATE) with their result\n"
	       "  all         all of the above\n"
	       "A line: SECONDS WHO CLASS WHAT key=value ..., e.g.\n"
	       "  0.812034511 vcpu0 pio write port=0x3f8 size=1 data=0x41 dev=com1 offset=0x0\n"
	       "SECONDS count from when tracing began; WHO is the vCPU or the thread (io, ...).\n"
	       "Examples: --trace pio,mmio:/tmp/t.log   --trace irq,virtio   --trace all\n";
}

int trace_parse(const char *spec, unsigned *mask, const char **path,
		char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	const char *end = colon ? colon : spec + strlen(spec);
	const char *p = spec;
	unsigned m = 0;

	if (!strcmp(spec, "help"))
		return 1;
	if (colon && !colon[1]) {
		snprintf(err, errlen, "--trace %s: no file name after ':'", spec);
		return -EINVAL;
	}
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);
		size_t i;

		if (n == 0) {
			snprintf(err, errlen, "--trace %s: an empty event class "
				 "(`--trace help` lists them)", spec);
			return -EINVAL;
		}
		if (n == 3 && !strncmp(p, "all", 3)) {
			m |= TRACE_ALL;
		} else {
			for (i = 0; i < ARRAY_SIZE(classes); i++)
				if (strlen(classes[i].name) == n &&
				    !strncmp(p, classes[i].name, n))
					break;
			if (i == ARRAY_SIZE(classes)) {
				snprintf(err, errlen, "--trace: unknown event class \"%.*s\" "
					 "(classes: pio, mmio, irq, virtio, exits, kvm, all;"
					 " `--trace help` says more)", (int)MIN(n, 64), p);
				return -EINVAL;
			}
			m |= classes[i].cls;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*mask = m;
	*path = colon ? colon + 1 : NULL;
	return 0;
}

void tracer_init_fd(struct tracer *t, unsigned mask, int fd)
{
	t->fd = fd;
	t->own_fd = false;
	t->t0_ns = mono_clock_host_ns(NULL);
	t->where = fd == 2 ? "stderr" : "the trace file";
	/* the console may put the terminal in raw mode: "\n" alone would stair-step */
	t->crlf = fd >= 0 && isatty(fd);
	atomic_store(&t->mask, fd >= 0 ? mask : 0);
}

int tracer_open(struct tracer *t, unsigned mask, const char *path)
{
	int fd = 2;

	if (mask && path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			int err = -errno;
			pt_err("--trace: cannot open %s: %s", path, strerror(errno));
			tracer_init_fd(t, 0, -1);
			return err;
		}
	}
	tracer_init_fd(t, mask, mask ? fd : -1);
	t->own_fd = mask && path;
	if (path)
		t->where = path;
	return 0;
}

void tracer_close(struct tracer *t)
{
	atomic_store(&t->mask, 0);
	if (t->own_fd && t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->own_fd = false;
}

static void put(struct tracer *t, const char *line, size_t len)
{
	ssize_t w;

	do
		w = write(t->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)len)
		return;
	/* the first thread to see the failure says so; the rest stay quiet */
	if (atomic_exchange(&t->mask, 0))
		pt_err("--trace: writing to %s failed (%s): tracing is off", t->where,
		       w < 0 ? strerror(errno) : "short write");
}

void trace_vemit(struct tracer *t, const char *who, unsigned cls,
		 const char *fmt, va_list ap)
{
	char line[TRACE_LINE_MAX];
	uint64_t ns = mono_clock_host_ns(NULL) - t->t0_ns;
	int n, m;

	n = snprintf(line, sizeof(line), "%llu.%09llu %s %s ",
		     (unsigned long long)(ns / 1000000000u),
		     (unsigned long long)(ns % 1000000000u), who,
		     trace_class_name(cls));
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n >= (int)sizeof(line) - 2) { /* cut: say so, keep the line end */
		n = (int)sizeof(line) - 2;
		memcpy(line + n - 3, "...", 3);
	}
	if (t->crlf)
		line[n++] = '\r';
	line[n++] = '\n';
	put(t, line, (size_t)n);
}

void trace_emit_who(struct tracer *t, const char *who, unsigned cls,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	trace_vemit(t, who, cls, fmt, ap);
	va_end(ap);
}

void trace_emit(struct tracer *t, unsigned cls, const char *fmt, ...)
{
	char who[17] = "?";
	va_list ap;

	/* the kernel's copy of the thread's name: one cheap syscall */
	if (prctl(PR_GET_NAME, who, 0, 0, 0) < 0)
		strcpy(who, "?");
	who[16] = '\0';
	va_start(ap, fmt);
	trace_vemit(t, who, cls, fmt, ap);
	va_end(ap);
}

void trace_access(struct tracer *t, unsigned vcpu, const struct bus *b,
		  bool mmio, uint64_t addr, bool write, unsigned size,
		  const void *data)
{
	const struct bus_range *r = bus_find(b, addr);
	uint64_t v = 0;
	char who[16], dev[96];

	memcpy(&v, data, MIN(size, sizeof(v))); /* x86: little-endian */
	if (r && addr - r->base + size <= r->len)
		snprintf(dev, sizeof(dev), "dev=%s offset=0x%llx", r->name ? r->name : "?",
			 (unsigned long long)(addr - r->base));
	else
		snprintf(dev, sizeof(dev), "dev=- offset=-");
	snprintf(who, sizeof(who), "vcpu%u", vcpu);
	trace_emit_who(t, who, mmio ? TRACE_MMIO : TRACE_PIO,
		       "%s %s=0x%llx size=%u data=0x%llx %s", write ? "write" : "read",
		       mmio ? "gpa" : "port", (unsigned long long)addr, size,
		       (unsigned long long)v, dev);
}

void trace_kvm(struct tracer *t, const char *ioctl_name, int result,
	       const char *fmt, ...)
{
	char what[TRACE_LINE_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (result < 0)
		trace_emit(t, TRACE_KVM, "%s %s result=%d (%s)", ioctl_name, what,
			   result, strerror(-result));
	else
		trace_emit(t, TRACE_KVM, "%s %s result=%d", ioctl_name, what, result);
}
