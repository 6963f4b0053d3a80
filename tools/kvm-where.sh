#!/usr/bin/env bash
# Says where guests run on this machine: "host" (its /dev/kvm has hardware
# virtualization: vmx or svm in /proc/cpuinfo) or "nested" (no /dev/kvm, or
# a software KVM that cannot take Linux to user space: the nested VM of
# tests/nested/ instead); inside the nested VM, "host". PETREL_KVM=host|nested
# forces the answer. With -v,
# the reason follows on a second line.
set -euo pipefail
kind=none
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	if grep -qwE 'vmx|svm' /proc/cpuinfo; then kind=hw; else kind=soft; fi
fi
if [ -n "${PETREL_IN_NESTED:-}" ]; then # tests/nested/l1-init sets it: we are L1
	where=host why="inside the nested VM"
else case ${PETREL_KVM:-auto} in
host|nested) where=$PETREL_KVM why="PETREL_KVM=$PETREL_KVM (this machine's KVM: $kind)" ;;
auto)
	case $kind in
	hw) where=host why="this machine's /dev/kvm has hardware virtualization" ;;
	soft) where=nested why="this machine's /dev/kvm has no VMX/SVM (a software KVM)" ;;
	none) where=nested why="this machine has no usable /dev/kvm" ;;
	esac
	;;
*) echo "PETREL_KVM=$PETREL_KVM: want host, nested or auto" >&2; exit 2 ;;
esac; fi
echo "$where"
[ "${1:-}" = -v ] && echo "$why"
[ "${1:-}" = --kind ] && echo "$kind"
exit 0
