#!/usr/bin/env python3
"""Writes the seed corpora of the loader fuzz targets (fuzz_bzimage,
fuzz_decompress, fuzz_elf, fuzz_multiboot, fuzz_initrd) into
tests/fuzz/corpus/<target>/. The seeds are committed; run this again only to
remake them (make guest-bins first):

    tests/fuzz/mkseeds_loaders.py [KERNEL]     KERNEL: .cache/vmlinuz

Inputs: the setup code and decompressor head of a real bzImage (KERNEL: its
first pages only, never the kernel), the kit's guests from build/tests/guest
(stripped), and a small vmlinux-like ELF64 made here from a kit guest's code,
compressed with gzip, bzip2, lzma, xz, lz4 -l and zstd as the kernel build
does (the LE32 uncompressed size appended). Every seed is under 64 KiB.
The input formats are described in tests/fuzz/loader_input.h and at the top
of each target.
"""
import os
import struct
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
GUESTS = os.path.join(ROOT, "build", "tests", "guest")
MiB = 1 << 20

# index into loader_mem_sizes (loader_input.h)
MEM_2M, MEM_16M, MEM_32M, MEM_64M, MEM_128M, MEM_1G, MEM_4G = 3, 4, 5, 6, 7, 10, 14
F_GUEST, F_NOACPI, F_INITRD = 1, 2, 4
NCPUS = [1, 2, 3, 4, 8, 32, 255, 4096]  # loader_ncpus


def prefix(mem, flags=0, initrd_len=0, cmdline=1, ncpus=1, mmio=0):
    units = max(0, initrd_len - 1) // 16
    return bytes([mem, flags | mmio << 3]) + struct.pack("<H", units) + \
        bytes([cmdline, NCPUS.index(ncpus), 0, 0])


def write(target, name, data):
    assert len(data) < 64 * 1024, (target, name, len(data))
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def stripped(path):
    out = "/tmp/mkseeds-stripped.elf"
    subprocess.run(["strip", "-s", "-o", out, path], check=True)
    with open(out, "rb") as f:
        return f.read()


def elf64(segments, entry, notes=True):
    """ET_EXEC x86-64: segments are (paddr, data, memsz), each at a page of
    the file, as a vmlinux lays them out."""
    phnum = len(segments) + (1 if notes else 0)
    off = 0x1000
    phdrs, body = b"", b""
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, off + len(body), paddr | 0xffffffff80000000,
                             paddr, len(data), memsz, 0x1000)
        body += data + b"\0" * (-len(data) % 0x1000)
    if notes:
        note = struct.pack("<III", 4, 4, 1) + b"GNU\0" + b"\0\0\0\0"
        phdrs += struct.pack("<IIQQQQQQ", 4, 4, off + len(body), 0, 0, len(note), len(note), 4)
        body += note
    ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    head = ehdr + phdrs
    return head + b"\0" * (off - len(head)) + body


def elf32(segments, entry):
    off = 0x1000
    phdrs, body = b"", b""
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIIIIIII", 1, off + len(body), paddr, paddr, len(data),
                             memsz, 7, 0x1000)
        body += data + b"\0" * (-len(data) % 0x1000)
    ehdr = b"\x7fELF\x01\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, 32, len(segments), 40, 0, 0)
    head = ehdr + phdrs
    return head + b"\0" * (off - len(head)) + body


def load_segment(elf, paddr):
    """The file bytes of the ELF64 PT_LOAD at paddr."""
    phoff, = struct.unpack_from("<Q", elf, 32)
    phnum, = struct.unpack_from("<H", elf, 56)
    for i in range(phnum):
        t, _, off, _, pa, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", elf, phoff + 56 * i)
        if t == 1 and pa == paddr:
            return elf[off:off + filesz]
    raise SystemExit("no PT_LOAD at %#x" % paddr)


def compress(tool_args, data):
    return subprocess.run(tool_args, input=data, stdout=subprocess.PIPE, check=True).stdout


CODECS = {  # name: (command, index in fuzz_decompress's magic table, magic length)
    "gzip": (["gzip", "-9", "-n", "-c"], 0, 2),
    "bzip2": (["bzip2", "-9", "-c"], 1, 3),
    # small dictionaries: liblzma clears the whole dictionary it allocates
    # (a kernel's 32 MiB one costs ~10 ms an execution); the header field
    # is the same one, and the fuzzer varies it
    "lzma": (["xz", "--format=lzma", "--lzma1=preset=9,dict=64KiB", "-c"], 2, 3),
    "xz": (["xz", "--check=crc32", "--lzma2=preset=9,dict=64KiB", "-c"], 3, 6),
    "lz4": (["lz4", "-l", "-9", "-c"], 5, 4),
    "zstd": (["zstd", "-19", "-q", "-c"], 6, 4),
}


def kernel_payloads(vmlinux):
    """name -> payload as the kernel build makes it: stream + LE32 size."""
    size = struct.pack("<I", len(vmlinux))
    p = {n: compress(c[0], vmlinux) + size for n, c in CODECS.items()}
    p["none"] = vmlinux
    # lzop is not installed here: the magic and a header are enough, petrel
    # only recognises the format and leaves it to the guest
    p["lzo"] = b"\x89LZO\x00\x0d\x0a\x1a\x0a" + b"\x10\x40\x20\xa0\x09\x40" + bytes(32) + size
    return p


def bzimage(kernel, payload, init_size=None):
    """The kernel's setup code and decompressor head, its payload replaced."""
    setup_sects = kernel[0x1f1] or 4
    setup = bytearray(kernel[:(setup_sects + 1) * 512])
    payload_offset = struct.unpack_from("<I", setup, 0x248)[0]
    pm = kernel[len(setup):len(setup) + payload_offset] + payload
    pm += b"\0" * (-len(pm) % 16)
    struct.pack_into("<I", setup, 0x1f4, len(pm) // 16)       # syssize
    struct.pack_into("<I", setup, 0x24c, len(payload))        # payload_length
    if init_size is not None:
        struct.pack_into("<I", setup, 0x260, init_size)
    return bytes(setup) + pm


def seeds_bzimage(kernel, vmlinux):
    pl = kernel_payloads(vmlinux)
    for name, payload in pl.items():
        img = bzimage(kernel, payload, 0x100000)
        # host decompression, an initrd and a command line, RAM written
        write("fuzz_bzimage", "host-" + name,
              prefix(MEM_32M, F_INITRD, 4096, cmdline=4) + img)
    img = bzimage(kernel, pl["lz4"], 0x100000)
    write("fuzz_bzimage", "guest-decompress-lz4", prefix(MEM_64M, F_GUEST | F_INITRD, 8192) + img)
    write("fuzz_bzimage", "no-acpi-mmio-cmdline",
          prefix(MEM_64M, F_NOACPI, 0, cmdline=8, ncpus=4, mmio=3) + img)
    write("fuzz_bzimage", "smp-above-hole", prefix(MEM_4G, F_INITRD, 65536, ncpus=8) + img)
    # the kernel's real init_size needs ~72 MiB: too little RAM, then enough
    img = bzimage(kernel, pl["gzip"])
    write("fuzz_bzimage", "real-init-size-16M", prefix(MEM_16M) + img)
    write("fuzz_bzimage", "real-init-size-guest-128M", prefix(MEM_128M, F_GUEST) + img)
    # the real header page alone: the payload runs past the end of the file
    write("fuzz_bzimage", "truncated-real-header", prefix(MEM_1G) + kernel[:0x1000])
    # an ELF vmlinux, entered directly
    write("fuzz_bzimage", "elf-vmlinux", prefix(MEM_32M, F_INITRD, 100) + vmlinux)
    write("fuzz_bzimage", "cmdline-too-long", prefix(MEM_64M, cmdline=255) + img)


def seeds_decompress(vmlinux):
    size = struct.pack("<I", len(vmlinux))
    for name, (cmd, idx, mlen) in CODECS.items():
        stream = compress(cmd, vmlinux)
        body = stream[mlen:]
        lim = 8  # 256 KiB
        write("fuzz_decompress", name, bytes([idx, lim]) + body + size)
        write("fuzz_decompress", name + "-no-trailer", bytes([idx, lim]) + body)
        write("fuzz_decompress", name + "-trailer-small", bytes([idx, lim]) + body + struct.pack("<I", 100))
        write("fuzz_decompress", name + "-trailer-huge", bytes([idx, lim]) + body + b"\xff\xff\xff\xff")
        write("fuzz_decompress", name + "-truncated", bytes([idx, lim]) + body[:len(body) // 2])
        write("fuzz_decompress", name + "-limit-too-small", bytes([idx, 2]) + body + size)
        # two streams back to back: only the first counts
        write("fuzz_decompress", name + "-concatenated", bytes([idx, lim]) + body + stream + size)
    # a decompression bomb: 16 MiB of zeros, over the limit
    zeros = bytes(16 * MiB)
    for name in ("zstd", "xz", "bzip2"):
        cmd, idx, mlen = CODECS[name]
        write("fuzz_decompress", name + "-bomb", bytes([idx, 11]) + compress(cmd, zeros)[mlen:])
    write("fuzz_decompress", "elf-copy", bytes([7, 8]) + vmlinux[4:])
    write("fuzz_decompress", "lzo", bytes([4, 8]) + bytes(40))
    write("fuzz_decompress", "unknown", bytes([200, 8]) + b"not compressed")


def seeds_elf(vmlinux):
    g64 = stripped(os.path.join(GUESTS, "test_uart.guest.elf"))
    g32 = stripped(os.path.join(GUESTS, "test_multiboot.guest.elf"))
    code = bytes(range(256)) * 8
    write("fuzz_elf", "kit-guest64", prefix(MEM_16M) + g64)
    write("fuzz_elf", "kit-multiboot32", prefix(MEM_16M) + g32)
    write("fuzz_elf", "vmlinux-like", prefix(MEM_32M) + vmlinux)
    write("fuzz_elf", "vmlinux-beyond-ram", prefix(MEM_16M) + vmlinux)
    write("fuzz_elf", "overlapping", prefix(MEM_16M) + elf64(
        [(0x200000, code, 0x3000), (0x201000, code, 0x1000)], 0x200000))
    write("fuzz_elf", "bss-only-and-empty", prefix(MEM_16M) + elf64(
        [(0x300000, b"", 0x10000), (0x400000, b"", 0), (0x200000, code, 0x800)], 0x200000))
    write("fuzz_elf", "across-pci-hole", prefix(MEM_4G) + elf64(
        [(0xbffff000, code, 0x2000)], 0xbffff000))
    write("fuzz_elf", "wraps-2-64", prefix(MEM_16M) + elf64(
        [(0xfffffffffffff000, code, 0x2000)], 0x100000, notes=False))
    write("fuzz_elf", "entry-outside-ram", prefix(MEM_16M) + elf64(
        [(0x200000, code, 0x1000)], 0x7fffffff0000))
    write("fuzz_elf", "elf32-crosses-4g", prefix(MEM_4G) + elf32(
        [(0xfffff000, code, 0x2000)], 0xfffff000))
    write("fuzz_elf", "elf32-two-segments", prefix(MEM_2M) + elf32(
        [(0x100000, code, 0x1000), (0x101000, code[:100], 0x4000)], 0x100000))


def aout_kludge(load_end=0, bss_end=0):
    """A flat Multiboot kernel at 1 MiB, described by the header's address
    fields (flag 16): header at offset 0, code after it."""
    hdr = struct.pack("<III", 0x1BADB002, 0x00010003, (-(0x1BADB002 + 0x00010003)) & 0xffffffff)
    hdr += struct.pack("<IIIII", 0x100000, 0x100000, load_end, bss_end, 0x100020)
    code = b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp .
    return hdr + b"\x90" * (0x20 - len(hdr)) + code + bytes(4096)


def seeds_multiboot():
    mb = stripped(os.path.join(GUESTS, "test_multiboot.guest.elf"))
    write("fuzz_multiboot", "kit-guest", prefix(MEM_64M, cmdline=2) + mb)
    write("fuzz_multiboot", "kit-guest-module", prefix(MEM_16M, F_INITRD, 30000) + mb)
    write("fuzz_multiboot", "cmdline-too-long", prefix(MEM_64M, cmdline=255) + mb)
    write("fuzz_multiboot", "kit-guest-2M-no-acpi", prefix(MEM_2M, F_NOACPI | F_INITRD, 100) + mb)
    write("fuzz_multiboot", "aout-whole-file", prefix(MEM_16M, F_INITRD, 4096) + aout_kludge())
    write("fuzz_multiboot", "aout-bss", prefix(MEM_16M) + aout_kludge(0x100800, 0x120000))
    # a header past the 8 KiB window: not Multiboot, then not Linux either
    write("fuzz_multiboot", "header-too-late", prefix(MEM_16M) + bytes(8192) + aout_kludge())


def seeds_initrd():
    def rec(mem, size, addr_max, kend, sel=0):
        return struct.pack("<QQQQ", mem, size, addr_max, kend) + bytes([sel])
    write("fuzz_initrd", "debian-kernel", rec(1 << 30, 30 * MiB, 0x7fffffff, 0x4378000))
    write("fuzz_initrd", "multiboot-module", rec(64 * MiB, 4096, 0xffffffff, 0x102000))
    write("fuzz_initrd", "above-hole-ram", rec(0, 200 * MiB, 0xffffffffffffffff, 0x2000000,
                                              MEM_4G << 1 | 1))
    write("fuzz_initrd", "kernel-above-ram", rec(32 * MiB, 4096, 0x7fffffff, 40 * MiB))
    write("fuzz_initrd", "size-zero", rec(64 * MiB, 0, 0x7fffffff, 0x1000000))
    write("fuzz_initrd", "size-huge", rec(64 * MiB, 0xfffffffffffff000, 0x7fffffff, 0))
    write("fuzz_initrd", "limit-below-1M", rec(64 * MiB, 4096, 0xfffff, 0))


def main():
    kpath = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache", "vmlinuz")
    with open(kpath, "rb") as f:
        kernel = f.read(64 * 1024)
    g = stripped(os.path.join(GUESTS, "test_uart.guest.elf"))
    # the kit guest's code and data, at 16 MiB as a vmlinux is linked
    text = load_segment(g, 0x100000)
    vmlinux = elf64([(0x1000000, text, 0x4000), (0x1004000, text[:0x800], 0x2000)], 0x1000000)
    seeds_bzimage(kernel, vmlinux)
    seeds_decompress(vmlinux)
    seeds_elf(vmlinux)
    seeds_multiboot()
    seeds_initrd()


if __name__ == "__main__":
    main()
