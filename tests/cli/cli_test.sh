#!/usr/bin/env bash
# petrel as a user runs it: usage errors, bad input files, limits, signals and
# the console escape. Each case checks the exit status and the message, and
# that petrel never dies of a signal (a crash) on bad input.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME STATUS PATTERN -- ARGS...
expect() {
	local name=$1 want=$2 pat=$3; shift 4
	timeout 60 "$PETREL" "$@" </dev/null >"$tmp/out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$tmp/out"; then
		echo "  ok   $name"; pass=$((pass + 1))
	else
		echo "  FAIL $name: status $rc (want $want), output:"; sed 's/^/    /' "$tmp/out" | head -8
		fail=$((fail + 1))
	fi
}

have_kvm=1
[ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=0

expect "no command" 2 "no command given" --
expect "unknown command" 2 'unknown command "launch"' -- launch
expect "run without --kernel" 2 "--kernel is required" -- run
expect "bad --mem" 2 "--mem: \"lots\"" -- run -k x --mem lots
expect "bad --cpus" 2 "--cpus" -- run -k x --cpus 0
expect "--version" 0 "^petrel [0-9]+\.[0-9]+\.[0-9]+" -- --version
expect "--help" 0 "exit status" -- --help
expect "run --help" 0 "--cpu-features" -- run --help
expect "--cpu-features=help" 0 "cx16" -- run --cpu-features=help

# No /dev/kvm at all: hide it behind an empty /dev in a private mount
# namespace (needs root and unshare; skipped otherwise).
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c "mount -t tmpfs none /dev && exec $PETREL run -k /nonexistent" \
		</dev/null >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 1 ] && grep -q "/dev/kvm does not exist: this host has no KVM" "$tmp/out"; then
		echo "  ok   no /dev/kvm: explained, status 1"; pass=$((pass + 1))
	else
		echo "  FAIL no /dev/kvm: status $rc"; cat "$tmp/out"; fail=$((fail + 1))
	fi
else
	echo "  SKIP no /dev/kvm case: needs root and unshare"
fi

if [ $have_kvm -eq 0 ]; then
	echo "  SKIP the cases below: /dev/kvm is not available here"
else
	[ -s "$KERNEL" ] || tools/fetch-kernel.sh "$(dirname "$KERNEL")" >/dev/null
	head -c 100000 /dev/urandom >"$tmp/garbage"
	head -c 300000 "$KERNEL" >"$tmp/truncated"
	cp "$KERNEL" "$tmp/corrupt"
	# overwrite 4 KiB at the start of the compressed payload (past the
	# setup code): the header still parses, the payload does not
	setup_sects=$(od -An -tu1 -j 0x1f1 -N1 "$KERNEL" | tr -d ' ')
	payload_off=$(od -An -tu4 -j 0x248 -N4 "$KERNEL" | tr -d ' ')
	dd if=/dev/urandom of="$tmp/corrupt" bs=1 seek=$(( (setup_sects + 1) * 512 + payload_off + 16 )) \
		count=4096 conv=notrunc status=none
	truncate -s 600M "$tmp/huge-initrd" # sparse: costs no disk
	long=$(printf 'x%.0s' $(seq 3000))

	expect "missing kernel" 1 "--kernel /nonexistent/vmlinuz: No such file" -- run -k /nonexistent/vmlinuz
	expect "kernel is a directory" 1 "Is a directory" -- run -k "$tmp"
	expect "garbage kernel" 1 "not a kernel petrel can boot" -- run -k "$tmp/garbage"
	expect "truncated bzImage" 1 "not a bootable bzImage" -- run -k "$tmp/truncated"
	expect "corrupt payload" 1 "cannot (decompress|load)" -- run -k "$tmp/corrupt" --console none
	expect "missing initrd" 1 "--initrd /nonexistent: No such file" -- run -k "$KERNEL" -i /nonexistent
	expect "initrd larger than RAM" 1 "larger than guest RAM" -- run -k "$KERNEL" -i "$tmp/huge-initrd" -m 512M
	expect "too little memory" 1 "give the VM more --mem" -- run -k "$KERNEL" -m 32M
	expect "too many vCPUs" 1 "at most 254 fit" -- run -k "$KERNEL" --cpus 255
	expect "command line too long" 1 "longer than this kernel accepts" -- run -k "$KERNEL" -c "$long"
	expect "unknown CPU feature" 1 'unknown feature "warpdrive"' -- run -k "$KERNEL" --cpu-features=-warpdrive

	# a guest's own reset and poweroff end petrel with status 0; an outl or
	# outw of V to the debug-exit port ends it with (V << 1 | 1) & 0xff, as
	# QEMU's isa-debug-exit,iosize=4 does
	for mode in 1:i8042 2:cf9 3:acpi 4:outl 5:outw; do
		cc -m32 -DMODE=${mode%%:*} -c tests/cli/power_guest.S -o "$tmp/power.o" &&
		ld -m elf_i386 -N -nostdlib -static --no-warn-rwx-segments -e _start -Ttext=0x100000 \
			-o "$tmp/power.elf" "$tmp/power.o" || { fail=$((fail + 1)); continue; }
		status=0 name="guest stop via ${mode#*:}" extra=()
		case ${mode#*:} in
		acpi) want="guest powered off \(acpi\)" ;;
		outl) status=67 extra=(--debug-exit) name="outl to the debug-exit port" ;;
		outw) status=33 extra=(--debug-exit) name="outw to the debug-exit port" ;;
		*) want="guest reset \(${mode#*:}\)" ;;
		esac
		[ $status -ne 0 ] && want="debug-exit port \(status $status\)"
		expect "$name" $status "$want" -- run -k "$tmp/power.elf" --console none "${extra[@]}"
	done

	# a running guest stopped by SIGTERM: clean stop, status 5
	"$PETREL" run -k "$KERNEL" --cpu-features=-cx16,-xsave -c "console=ttyS0 noxsave" </dev/null >"$tmp/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q 'Linux version' "$tmp/out" && break; sleep 0.1; done
	kill -TERM $pid; wait $pid; rc=$?
	if [ $rc -eq 5 ] && grep -q "stopped by signal" "$tmp/out"; then
		echo "  ok   SIGTERM stops the VM with status 5"; pass=$((pass + 1))
	else
		echo "  FAIL SIGTERM: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
	# the console escape Ctrl-A x, typed after the kernel has started
	( sleep 1; printf '\001x' ) | timeout 60 "$PETREL" run -k "$KERNEL" --cpu-features=-cx16,-xsave \
		-c "console=ttyS0 noxsave" >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 5 ] && grep -q "quit from the console" "$tmp/out"; then
		echo "  ok   Ctrl-A x quits with status 5"; pass=$((pass + 1))
	else
		echo "  FAIL Ctrl-A x: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
	# ... even behind 8000 pasted bytes a guest never reads (the UART takes 16)
	( sleep 1; head -c 8000 /dev/zero | tr '\0' a; printf '\001x' ) | timeout 60 "$PETREL" run \
		-k "$KERNEL" --cpu-features=-cx16,-xsave -c "console=ttyS0 noxsave" >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 5 ] && grep -q "quit from the console" "$tmp/out" &&
	   grep -q "console input dropped: the guest is not reading COM1" "$tmp/out"; then
		echo "  ok   Ctrl-A x quits behind a paste the guest never reads"; pass=$((pass + 1))
	else
		echo "  FAIL Ctrl-A x behind a paste: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
fi
echo "$pass $fail" >build/test-logs/cli-result
[ $fail -eq 0 ]
