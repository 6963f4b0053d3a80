#!/usr/bin/env bash
# The seccomp tier: petrel's filters and privilege drop, on the real binary
# running a guest (a Multiboot guest that writes COM1 forever,
# tests/cli/com1_flood.S, and Debian's kernel for the full-featured case).
#   kill-KIND  PETREL_SECCOMP_SELFTEST=KIND (the documented test aid) makes
#              that thread call getppid once its filter is in: petrel must
#              die by SIGSYS, and say which syscall and which thread, for
#              each kind: main, vcpu, io, api (on its first request), gdb,
#              pic-watch (vcpu0's 8259 watchdog)
#   off        the same self-test with --seccomp=off: the guest runs on
#   confined   while a guest runs: every thread of petrel has a filter
#              (Seccomp: 2), NoNewPrivs 1, CapEff 0 (root without --user)
#   user       as root with --user nobody: the process's uid and gid are
#              nobody's (from /proc/PID/status and GET /threads), no
#              capability, NoNewPrivs 1; the API still answers
#   nonroot    --user when not root: refused with a clear message
#   linux      Debian's kernel to /init and poweroff with the filters on
#              and every optional thread (API, GDB stub, --net user, a
#              virtio-blk disk, rng): exit 0
# Needs KVM (tests/run-all.sh runs it in the nested VM) and root.
# Writes "<pass> <fail> <skip>" to build/test-logs/seccomp-result.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/seccomp-result
echo "0 1 0" >"$result"
work=$(mktemp -d /tmp/petrel-seccomp.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0 skip=0
ok() { echo "  ok   $1"; pass=$((pass + 1)); }
no() { echo "  FAIL $1"; [ -n "${2:-}" ] && tail -8 "$2" | sed 's/^/    /'; fail=$((fail + 1)); }

cc -m32 -c tests/cli/com1_flood.S -o "$work/flood.o" &&
ld -m elf_i386 -N -nostdlib -static --no-warn-rwx-segments -e _start -Ttext=0x100000 \
	-o "$work/flood.elf" "$work/flood.o" || { no "cannot build the flood guest"; echo "$pass $fail $skip" >"$result"; exit 1; }
GUEST=$work/flood.elf

# waits (up to $2 s) for file $1 to appear
wait_for() { for _ in $(seq 1 $(($2 * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

# kill-KIND: the forbidden call kills petrel by SIGSYS with the message
for kind in main vcpu io api gdb pic-watch; do
	log=$logs/seccomp-kill-$kind.log
	sock=$work/api-$kind.sock
	args=(run -k "$GUEST" --api-socket "$sock" --gdb "unix:$work/gdb-$kind.sock")
	PETREL_SECCOMP_SELFTEST=$kind timeout 120 "$PETREL" "${args[@]}" </dev/null >"$log" 2>&1 &
	pid=$!
	pids+=($pid)
	if [ $kind = api ] && wait_for "$sock" 60; then
		sleep 0.5
		curl -s -m 10 --unix-socket "$sock" http://localhost/vm >/dev/null 2>&1
	fi
	wait $pid 2>/dev/null # bash's "Bad system call" notice: the status says it
	rc=$?
	want="thread [a-z0-9-]+ \\($kind filter\\) made the forbidden syscall getppid \\("
	# 128 + SIGSYS (31): killed by the signal, as the shell reports it
	if [ $rc -eq 159 ] && grep -qE "$want" "$log"; then
		ok "kill-$kind: $(grep -oE "thread [a-z0-9-]+ \\($kind filter\\)" "$log" | head -1) died by SIGSYS, named getppid"
	else
		no "kill-$kind: status $rc (want 159), want /$want/ in $log" "$log"
	fi
done

# off: the test aid does nothing without filters; the guest keeps running
log=$logs/seccomp-off.log
PETREL_SECCOMP_SELFTEST=vcpu "$PETREL" run -k "$GUEST" --seccomp=off </dev/null >"$log" 2>&1 &
pid=$!; pids+=($pid)
sleep 5
if kill -0 $pid 2>/dev/null; then
	kill -TERM $pid; wait $pid; rc=$?
	[ $rc -eq 5 ] && ok "off: --seccomp=off, the self-test's getppid is harmless (SIGTERM: status 5)" ||
		no "off: status $rc after SIGTERM (want 5)" "$log"
else
	wait $pid; no "off: petrel ended early (status $?)" "$log"
fi

# status_of PID FIELD: the field of /proc/PID/status
status_of() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status"; }

# confined: every thread filtered, no_new_privs, no capability (root, no --user)
log=$logs/seccomp-confined.log
"$PETREL" run -k "$GUEST" --api-socket "$work/c.sock" --gdb "unix:$work/c-gdb.sock" \
	</dev/null >"$log" 2>&1 &
pid=$!; pids+=($pid)
wait_for "$work/c.sock" 60
curl -s -m 10 --unix-socket "$work/c.sock" http://localhost/vm >/dev/null # the MHD thread at work
sleep 2
threads=0 filtered=0 names=""
for t in /proc/$pid/task/*; do
	threads=$((threads + 1))
	names+="$(cat "$t/comm"):$(awk '$1 == "Seccomp:" { print $2 }' "$t/status") "
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")" = 2 ] && filtered=$((filtered + 1))
done
nnp=$(status_of $pid NoNewPrivs) capeff=$(status_of $pid CapEff) capprm=$(status_of $pid CapPrm)
echo "threads: $names; NoNewPrivs $nnp CapEff $capeff CapPrm $capprm" >>"$log"
if [ $threads -ge 5 ] && [ $filtered -eq $threads ] && [ "$nnp" = 1 ] &&
   [ "$capeff" = 0000000000000000 ] && [ "$capprm" = 0000000000000000 ] &&
   [[ "$names" == *"vcpu0:2"* && "$names" == *"io:2"* && "$names" == *"api:2"* && "$names" == *"gdb:2"* ]]; then
	ok "confined: $threads threads all filtered ($names), NoNewPrivs 1, CapEff 0"
else
	no "confined: $names; NoNewPrivs $nnp CapEff $capeff CapPrm $capprm" "$log"
fi
kill -TERM $pid; wait $pid

# user: root with --user nobody
log=$logs/seccomp-user.log
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "  SKIP user: needs root and a user nobody"; skip=$((skip + 1))
else
	nuid=$(id -u nobody) ngid=$(id -g nobody)
	# the socket's directory is the user's: petrel, as nobody, removes it at exit
	mkdir "$work/u" && chown nobody "$work/u"
	"$PETREL" run -k "$GUEST" --user nobody --api-socket "$work/u/api.sock" </dev/null >"$log" 2>&1 &
	pid=$!; pids+=($pid)
	wait_for "$work/u/api.sock" 60
	sleep 1
	threads_json=$(curl -s -m 10 --unix-socket "$work/u/api.sock" http://localhost/threads)
	uid=$(status_of $pid Uid) gid=$(status_of $pid Gid) groups=$(status_of $pid Groups)
	capeff=$(status_of $pid CapEff) nnp=$(status_of $pid NoNewPrivs)
	sockown=$(stat -c %u "$work/u/api.sock")
	echo "Uid $uid Gid $gid Groups '$groups' CapEff $capeff NoNewPrivs $nnp socket owner $sockown" >>"$log"
	if [ "$uid" = "$nuid $nuid $nuid $nuid" ] && [ "$gid" = "$ngid $ngid $ngid $ngid" ] &&
	   [ -z "$groups" ] && [ "$capeff" = 0000000000000000 ] && [ "$nnp" = 1 ] &&
	   [ "$sockown" = "$nuid" ] && grep -q vcpu0 <<<"$threads_json"; then
		ok "user: --user nobody: uid $nuid gid $ngid (real, effective, saved, fs), no groups, CapEff 0, NoNewPrivs 1, API answers"
	else
		no "user: Uid '$uid' Gid '$gid' Groups '$groups' CapEff $capeff NoNewPrivs $nnp socket owner $sockown threads: ${threads_json:0:80}" "$log"
	fi
	kill -TERM $pid; wait $pid; rc=$?
	[ $rc -eq 5 ] && [ ! -e "$work/u/api.sock" ] && ok "user: SIGTERM ends it (5) and the API socket is removed as nobody" ||
		no "user: status $rc after SIGTERM, socket left: $(ls "$work/u/api.sock" 2>&1)" "$log"
fi

# nonroot: --user refused
log=$logs/seccomp-nonroot.log
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PETREL" run -k "$GUEST" --user nobody \
		</dev/null >"$log" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "not running as root, so it cannot switch user" "$log" &&
		ok "nonroot: --user as uid 65534 refused (status 1, said why)" ||
		no "nonroot: status $rc" "$log"
else
	"$PETREL" run -k "$GUEST" --user nobody </dev/null >"$log" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "not running as root" "$log" && ok "nonroot: --user refused" || no "nonroot: status $rc" "$log"
fi

# linux: a full boot with every thread kind and the slirp and disk paths
log=$logs/seccomp-linux.log
if [ ! -s "$KERNEL" ] || [ ! -s "$INITRD" ]; then
	echo "  SKIP linux: no kernel/initrd"; skip=$((skip + 1))
else
	truncate -s 8M "$work/disk.img" "$work/disk2.img"
	timeout 300 "$PETREL" run -k "$KERNEL" -i "$INITRD" -n 2 --cmdline "console=ttyS0 petrel.test" \
		--api-socket "$work/l.sock" --gdb "unix:$work/l-gdb.sock" --net user --rng \
		--disk "$work/disk.img" --disk "$work/disk2.img,io=sync" --stats </dev/null >"$log" 2>&1 &
	pid=$!; pids+=($pid)
	wait_for "$work/l.sock" 60 && sleep 3 &&
		curl -s -m 20 --unix-socket "$work/l.sock" http://localhost/threads >>"$log"
	wait $pid; rc=$?
	[ $rc -eq 0 ] && ! grep -q "forbidden syscall" "$log" &&
		ok "linux: Debian's kernel to /init and poweroff under the filters (API, GDB stub, --net user, 2 disks, rng)" ||
		no "linux: status $rc" "$log"
fi
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
