#!/usr/bin/env bash
# The api tier: the control API (--api-socket) against a running Linux
# guest, driven by the real curl (curl --unix-socket) and by `petrel ctl`.
# One boot of the default guest (Debian's cloud kernel, the default
# initramfs, 2 vCPUs, nokaslr) with a /test.sh that sets a known hostname
# (bytes the guest writes into its kernel's init_uts_ns), prints the
# address of init_uts_ns from /proc/kallsyms, prints a progress counter
# ("TICK n") and waits for the ACPI power button on its input device. The
# host then checks, each as a case:
#   socket    the socket file is 0600; a second petrel on it is refused
#   endpoints every GET endpoint answers 200 with what this VM has
#   pause     paused, the ticks stop and vCPU 0's registers can be read;
#             resumed, they move again
#   translate init_uts_ns's nodename: GVA -> GPA (the kernel's mapping
#             without KASLR), and GET /memory by GVA and by GPA returns
#             the hostname the guest wrote
#   errors    bad requests get 4xx with {"error": ...}; the VM runs on
#   ctl       petrel ctl's tables and --json
#   shutdown  PUT /vm/shutdown: the guest sees the power button and powers
#             off; petrel exits 0 and removes the socket
#
# Needs KVM with hardware-virtualization semantics (tests/run-all.sh runs
# it in the nested VM when this machine has none), curl and python3.
# Writes "<pass> <fail> <skip>" to build/test-logs/api-result; the guest's
# console and petrel's messages are in build/test-logs/api-guest.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
BOOT_TIMEOUT=${API_BOOT_TIMEOUT:-300}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/api-result
echo "0 1 0" >"$result"
for t in curl python3 cpio; do
	command -v "$t" >/dev/null || { echo "  api tier: $t is missing (tools/deps.sh installs it)"; exit 1; }
done
work=$(mktemp -d /tmp/petrel-api.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
. tests/e2e/initrd_with.sh

sock=$work/api.sock
log=$logs/api-guest.log
marker=PETREL-API-MARKER-5a17
pass=0 fail=0 skip=0 bad=0
ok() { echo "     ok   $1"; }
no() { echo "     FAIL $1"; bad=1; }
finish() { # case name
	if [ $bad -eq 0 ]; then pass=$((pass + 1)); echo "  PASS $1"
	else fail=$((fail + 1)); echo "  FAIL $1"; fi
	bad=0
}

# req METHOD PATH [BODY]: sets code and body (the answer)
req() {
	local data=()
	[ $# -ge 3 ] && data=(--data "$3" -H 'Content-Type: application/json')
	code=$(curl -s -o "$work/answer" -w '%{http_code}' -X "$1" "${data[@]}" \
		--unix-socket "$sock" "http://localhost$2")
	body=$(cat "$work/answer" 2>/dev/null)
}
# jq-like: py EXPR on the last answer (d is the parsed JSON)
py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$work/answer" "$1" 2>/dev/null; }
expect() { # what code want [python-expression-that-must-print-True]
	if [ "$code" != "$2" ]; then no "$1: HTTP $code, want $2: $body"; return 1; fi
	if [ $# -ge 3 ] && [ "$(py "$3")" != True ]; then no "$1: $3 is not true of: $(head -c 400 <<<"$body")"; return 1; fi
	ok "$1"
}
ticks() { grep -c '^TICK ' "$log"; }

cat >"$work/test.sh" <<SCRIPT
modprobe button; modprobe evdev
hostname $marker
ev=
for d in /sys/class/input/input*; do
	[ "\$(cat \$d/name)" = "Power Button" ] && ev=\$(ls -d \$d/event* | head -n1)
done
echo "API-GUEST uts \$(grep ' init_uts_ns\$' /proc/kallsyms)"
[ -n "\$ev" ] || { echo "API-GUEST no power button input device"; exit 1; }
dev=/dev/input/\${ev##*/}
for i in 1 2 3 4 5 6 7 8 9 10; do [ -c \$dev ] && break; sleep 0.5; done
[ -c \$dev ] || { echo "API-GUEST no power button input device: no \$dev"; exit 1; }
( i=0; while :; do i=\$((i + 1)); echo "TICK \$i"; sleep 0.2; done ) &
ticker=\$!
echo "API-GUEST button \$dev"
# one input_event (24 bytes on x86-64): the button was pressed
n=\$(dd if=\$dev bs=24 count=1 2>/dev/null | wc -c)
kill \$ticker
[ "\$n" = 24 ] || { echo "API-GUEST reading \$dev failed (\$n bytes)"; exit 1; }
echo "API-GUEST power button pressed"
SCRIPT
initrd_with "$work/test.sh" "$work/initrd"

"$PETREL" run -k "$KERNEL" --initrd "$work/initrd" --cpus 2 --mem 256M \
	--cmdline "console=ttyS0 panic=-1 quiet nokaslr petrel.test=script" \
	--api-socket "$sock" </dev/null >"$log" 2>&1 &
pid=$!
for ((i = 0; i < BOOT_TIMEOUT * 2; i++)); do
	grep -q '^API-GUEST \(button\|no power\)' "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.5
done
if ! grep -q '^API-GUEST button' "$log" || ! kill -0 "$pid" 2>/dev/null; then
	echo "  FAIL boot: the guest did not get to its power-button wait (log $log):"
	tail -20 "$log" | sed 's/^/       /'
	echo "0 1 7" >"$result"
	exit 1
fi

echo "  case socket"
[ "$(stat -c %a "$sock")" = 600 ] && ok "the socket is 0600" || no "the socket is $(stat -c %a "$sock")"
# (timeout: should the refusal not come, that petrel would run a guest)
timeout -s KILL 20 "$PETREL" run -k "$KERNEL" --console none --cmdline panic=-1 \
	--api-socket "$sock" </dev/null >"$work/second.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'serving it' "$work/second.log" &&
	ok "a second petrel on the live socket: status 1, '$(grep -o 'another process.*' "$work/second.log")'" ||
	no "a second petrel on the live socket: status $rc: $(cat "$work/second.log")"
timeout -s KILL 20 "$PETREL" run -k "$KERNEL" --console none --cmdline panic=-1 \
	--api-socket /nonexistent/dir/x.sock </dev/null >"$work/third.log" 2>&1
[ $? -eq 1 ] && grep -q 'does not exist' "$work/third.log" && ok "a socket in a missing directory: $(cat "$work/third.log")" ||
	no "a socket in a missing directory: $(cat "$work/third.log")"
finish socket

echo "  case endpoints"
req GET /vm; expect "GET /vm" 200 "d['state']=='running' and d['vcpus']==2 and d['memory_bytes']==256<<20 and d['irqchip']=='kernel' and d['pid']==$pid"
req GET /vcpus; expect "GET /vcpus" 200 "len(d['vcpus'])==2 and d['vcpus'][0]['rip'].startswith('0x') and d['vcpus'][0]['tid']>0 and d['vm']=='running'"
req GET /memory/slots; expect "GET /memory/slots" 200 "d['slots'][0]['gpa']=='0x0' and d['slots'][0]['size']==256<<20"
req GET /bus; expect "GET /bus" 200 "any(r['device']=='com1' and r['base']=='0x3f8' and r['writes']>0 for r in d['pio']['ranges']) and any(r['device']=='acpi-pm' for r in d['pio']['ranges'])"
req GET /irq; expect "GET /irq" 200 "d['irqchip']=='kernel' and len(d['ioapic']['redirection_table'])==24 and any(not p['masked'] for p in d['ioapic']['redirection_table'])"
req GET /stats; expect "GET /stats" 200 "len(d['vcpus'])==2 and d['vcpus'][0]['exits']>0 and d['start_us']['first_run']>0"
req GET /fds; expect "GET /fds" 200 "any(f['target']=='anon_inode:kvm-vcpu:1' for f in d['fds']) and any(f['target']=='/dev/kvm' for f in d['fds']) and any('control API' in f['what'] for f in d['fds'])"
req GET /threads; expect "GET /threads" 200 "any(t['name']=='vcpu1' and t['what'].startswith('vCPU 1') for t in d['threads']) and any(t['name']=='api' for t in d['threads'])"
finish endpoints

echo "  case pause"
req PUT /vm/pause; expect "PUT /vm/pause" 200 "d['state']=='paused'"
sleep 1
t0=$(ticks)
sleep 3
t1=$(ticks)
[ "$t0" = "$t1" ] && ok "paused: the guest's counter stays at $t0 for 3 s" || no "paused: the counter moved $t0 -> $t1"
req GET /vm; expect "GET /vm says paused" 200 "d['state']=='paused'"
req GET /vcpus/0/regs; expect "GET /vcpus/0/regs while paused" 200 "d['rip'].startswith('0x') and d['cs']['l']==1 and d['mode']=='long (64-bit)' and d['cr3']!='0x0'"
req GET /vcpus; expect "GET /vcpus while paused" 200 "all(v['state']=='paused' for v in d['vcpus']) and not d['sampled_in_brief_pause']"
req PUT /vm/resume; expect "PUT /vm/resume" 200 "d['state']=='running'"
for ((i = 0; i < 60; i++)); do [ "$(ticks)" -gt $((t1 + 2)) ] && break; sleep 0.5; done
t2=$(ticks)
[ "$t2" -gt $((t1 + 2)) ] && ok "resumed: the counter moves again ($t1 -> $t2)" || no "resumed: the counter stays at $t2"
req GET /vcpus/0/regs; expect "GET /vcpus/0/regs while running: 409" 409 "'pause' in d['error']"
finish pause

echo "  case translate"
uts=$(sed -n 's/^API-GUEST uts \([0-9a-f]*\) .*/\1/p' "$log" | head -n1)
if [ -z "$uts" ] || [ "$uts" = 0000000000000000 ]; then
	no "the guest's /proc/kallsyms gave no address for init_uts_ns: '$(grep 'API-GUEST uts' "$log")'"
else
	# struct uts_namespace starts with struct new_utsname: sysname[65], nodename[65]
	gva=$(printf '0x%x' $((0x$uts + 65)))
	gpa_want=$(printf '0x%x' $((0x$uts + 65 - 0xffffffff80000000)))
	hex_want=$(printf '%s' "$marker" | od -An -tx1 | tr -d ' \n')
	req GET "/translate?vcpu=0&gva=$gva"
	expect "translate $gva -> $gpa_want (nokaslr: the kernel image at 16 MiB)" 200 \
		"[s['stage'] for s in d['stages']][:3]==['guest virtual address','guest page tables (KVM_TRANSLATE)','memslot (petrel\\'s guest RAM)'] and d['stages'][1]['gpa']=='$gpa_want' and d['stages'][1]['valid'] and d['stages'][2]['slot']==0 and d['stages'][3]['present'] and ('hpa' in d['stages'][3] or 'CAP_SYS_ADMIN' in d['stages'][3]['note'])"
	echo "       $(py "d['stages'][3]")"
	req GET "/memory?vcpu=0&gva=$gva&len=${#marker}"
	expect "GET /memory by GVA: the hostname the guest set" 200 "d['hex']=='$hex_want'"
	req GET "/memory?gpa=$gpa_want&len=${#marker}"
	expect "GET /memory by GPA: the same bytes" 200 "d['hex']=='$hex_want'"
fi
finish translate

echo "  case errors"
req GET /nope; expect "GET /nope" 404 "'error' in d"
req POST /vm; expect "POST /vm" 405 "'error' in d"
req GET "/memory?gpa=0xffffffffffff0000&len=16"; expect "memory outside RAM" 400 "'error' in d"
req GET "/memory?gpa=0x1000&len=5000"; expect "a read longer than 4096" 400 "'out of range' in d['error']"
req GET "/memory?gpa=zebra"; expect "a GPA that is not a number" 400 "'not a number' in d['error']"
req GET /vcpus/9/regs; expect "a vCPU that does not exist" 404 "'does not exist' in d['error']"
req GET "/translate?vcpu=5&gva=0"; expect "translate on a vCPU that does not exist" 404 "'error' in d"
req GET "/translate?vcpu=0&gva=0x123456789abc"; expect "translate an unmapped GVA: valid false" 200 "d['stages'][1]['valid']==False"
req PUT /vm/resume '{"vcpus": [0,'; expect "malformed JSON body" 400 "'malformed JSON' in d['error']"
req PUT /vm/resume '{"vcpus": [7]}'; expect "resume a vCPU that does not exist" 400 "'error' in d"
req PUT /vm/quit '{"status": 300}'; expect "quit with status 300" 400 "'error' in d"
t3=$(ticks)
req GET /vm; expect "the VM runs on" 200 "d['state']=='running'"
for ((i = 0; i < 60; i++)); do [ "$(ticks)" -gt "$t3" ] && break; sleep 0.5; done
[ "$(ticks)" -gt "$t3" ] && ok "the guest still counts" || no "the guest stopped counting after the bad requests"
finish errors

echo "  case ctl"
out=$("$PETREL" ctl "$sock" vcpus 2>&1)
grep -qE '^ +id +tid +state +rip +mode' <<<"$out" && grep -qE '^ +1 +[0-9]+ ' <<<"$out" &&
	ok "petrel ctl vcpus prints a table" || no "petrel ctl vcpus: $out"
out=$("$PETREL" ctl "$sock" info --json 2>&1)
[ "$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["vcpus"])' <<<"$out" 2>/dev/null)" = 2 ] &&
	ok "petrel ctl info --json" || no "petrel ctl info --json: $out"
out=$("$PETREL" ctl "$sock" regs 0 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'HTTP 409' <<<"$out" && ok "petrel ctl regs 0 while running: status 1, $out" ||
	no "petrel ctl regs 0 while running: status $rc: $out"
out=$("$PETREL" ctl "$sock" translate 0 "${gva:-0}" 2>&1)
grep -q 'KVM_TRANSLATE' <<<"$out" && ok "petrel ctl translate" || no "petrel ctl translate: $out"
finish ctl

echo "  case shutdown"
req PUT /vm/shutdown; expect "PUT /vm/shutdown" 202 "d['pressed']=='power button'"
for ((i = 0; i < 240; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then
	no "petrel still runs 120 s after the power button"
	kill "$pid"
fi
wait "$pid"; rc=$?
pid=
[ $rc -eq 0 ] && ok "petrel's exit status is 0" || no "petrel's exit status is $rc"
grep -q '^API-GUEST power button pressed' "$log" && ok "the guest saw the power button" ||
	no "the guest never saw the power button"
grep -q 'PETREL-TEST-DONE status 0' "$log" && ok "the guest powered off after it" || no "no PETREL-TEST-DONE status 0"
[ ! -e "$sock" ] && ok "the socket file is gone" || no "the socket file is still there"
finish shutdown

echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
