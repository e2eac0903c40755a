#!/usr/bin/env bash
# The system test: the amd64 package as it ships, installed by apt on a
# Debian 12 machine that boots in QEMU with systemd and udev of its own,
# and drives hot-plugged into the ports of an emulated USB hub. The
# machine is cached by its build script (which holds the package list),
# the board and the package's hash; the base system under it by its
# package list alone, so a new package costs an install, not a build. Its
# serial log, journal and record are kept under
# dist/test-artifacts/system-test/.
#
# Without root it skips with a message; with CI_REQUIRE_ALL=1 a skip fails.
# `make system-test` builds the package first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
GO=${GO:-go}
t0=$(date +%s)

skip() {
	if [ "${CI_REQUIRE_ALL:-}" = 1 ]; then
		echo "system-test: FAIL: cannot run ($*), and CI_REQUIRE_ALL=1 makes a skip a failure" >&2
		exit 1
	fi
	echo "system-test: SKIP: $*" >&2
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root: mmdebstrap builds the machine's root file system as root (run 'sudo make system-test')"

scripts/deps.sh mmdebstrap qemu-system-x86 gdisk dosfstools mtools e2fsprogs

debs=(dist/clonebay_*_amd64.deb)
[ -f "${debs[0]}" ] || { echo "system-test: no dist/clonebay_*_amd64.deb: run 'make system-test'" >&2; exit 1; }
[ ${#debs[@]} -eq 1 ] || { echo "system-test: more than one amd64 package in dist/: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
board=board/builtin/qemu-usb.yaml

cache=${XDG_CACHE_HOME:-$HOME/.cache}/clonebay-system-test
key=$(cat scripts/vm-rootfs.sh "$board" "$deb" | sha256sum | cut -c1-16)
machine=$cache/machine-$key
mkdir -p "$cache"

if [ -f "$machine/root.ext4" ]; then
	echo "system-test: machine $key from the cache"
	built=cached
else
	echo "system-test: building machine $key (a Debian 12 root file system with $(basename "$deb"))"
	b0=$(date +%s)
	rm -rf "$machine.tmp"
	log=$cache/build-$key.log
	if ! scripts/vm-rootfs.sh "$deb" "$board" "$machine.tmp" "$cache" >"$log" 2>&1; then
		tail -40 "$log" >&2
		echo "system-test: building the machine failed; the whole log is $log" >&2
		exit 1
	fi
	mv "$machine.tmp" "$machine"
	# One machine is kept: the others belong to packages that are gone.
	for old in "$cache"/machine-*; do
		[ "$old" = "$machine" ] || rm -rf "$old"
	done
	built="built in $(( $(date +%s) - b0 )) s"
fi

artifacts=$PWD/dist/test-artifacts/system-test
rm -rf "$artifacts"
mkdir -p "$artifacts"
# The test is behind a build tag (go test ./... leaves it out): vet it here.
$GO vet -tags systemtest ./internal/vmtest/
r0=$(date +%s)
status=0
CLONEBAY_VM_DIR=$machine CLONEBAY_VM_ARTIFACTS=$artifacts \
	$GO test -tags systemtest -run '^TestApplianceInVM$' -count=1 -v -timeout 12m ./internal/vmtest/ || status=$?
ran=$(( $(date +%s) - r0 ))

echo
echo "system-test: artifacts in dist/test-artifacts/system-test/ (serial.log, journal.txt, check.txt, jobs.log)"
echo "system-test: machine $built; test $ran s; total $(( $(date +%s) - t0 )) s"
# The last lines: one per port.
if [ -f "$artifacts/summary.txt" ]; then
	cat "$artifacts/summary.txt"
fi
if [ $status -ne 0 ]; then
	echo "system-test: FAIL" >&2
	exit $status
fi
