#!/usr/bin/env bash
# Checks what ships: the arm64 firmware runs every simulator scenario under
# qemu-user with the same expectations as on amd64; the armv7 binary
# starts; each .deb is inspected (dpkg-deb, lintian), the amd64 one is
# installed into a scratch root, and its systemd unit is verified there.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "ship-test: $*" >&2; exit 1; }
# contains PATTERN: whether stdin holds it, read to its end (a `grep -q`
# that quits early would kill the writer with SIGPIPE, and pipefail would
# call that a failure).
contains() { local in; in=$(cat); grep -q -- "$1" <<<"$in"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "ship-test: arm64 scenarios under qemu-aarch64-static"
file bin/clonebay-arm64 | contains 'ARM aarch64' || fail "bin/clonebay-arm64 is not an arm64 binary"
qemu-aarch64-static -L / bin/clonebay-arm64 version | contains '^clonebay ' || fail "the arm64 binary does not run"
pids=()
for s in scenarios/*.scn; do
	name=$(basename "$s" .scn)
	qemu-aarch64-static -L / bin/clonebay-arm64 sim --script "$s" --slack 4 --log "$work/$name.log" >"$work/$name.out" 2>&1 &
	pids+=("$!:$name")
	# two at a time: the machine has two cores and qemu-user uses one each
	if [ ${#pids[@]} -ge 2 ]; then
		p=${pids[0]}; pids=("${pids[@]:1}")
		wait "${p%%:*}" || { cat "$work/${p#*:}.out"; fail "scenario ${p#*:} failed on arm64"; }
		echo "  ok ${p#*:}"
	fi
done
for p in "${pids[@]}"; do
	wait "${p%%:*}" || { cat "$work/${p#*:}.out"; fail "scenario ${p#*:} failed on arm64"; }
	echo "  ok ${p#*:}"
done

echo "ship-test: armv7"
file bin/clonebay-armv7 | contains 'ARM, EABI5' || fail "bin/clonebay-armv7 is not an armv7 binary"
qemu-arm-static -L / bin/clonebay-armv7 version | contains '^clonebay ' || fail "the armv7 binary does not run"

echo "ship-test: packages"
for arch in amd64 arm64 armhf; do
	deb=$(ls dist/clonebay_*_"$arch".deb 2>/dev/null | tail -1)
	[ -n "$deb" ] || fail "no .deb for $arch in dist/"
	dpkg-deb --info "$deb" | contains "Architecture: $arch" || fail "$deb: wrong architecture"
	contents=$(dpkg-deb --contents "$deb")
	for path in ./usr/bin/clonebay ./lib/systemd/system/clonebay.service ./lib/udev/rules.d/61-clonebay.rules \
		./etc/clonebay/board.yaml ./etc/clonebay/settings.yaml ./var/lib/clonebay/images/ ./usr/share/doc/clonebay/copyright; do
		grep -q " $path\$" <<<"$contents" || fail "$deb does not hold $path"
	done
	dpkg-deb --ctrl-tarfile "$deb" | tar -tf - | contains conffiles || fail "$deb has no conffiles"
	if command -v lintian >/dev/null; then
		# Errors fail the check; warnings are shown. A binary from a Go
		# build has no changelog and no man page yet: those tags are known.
		lintian --tag-display-limit 0 --suppress-tags no-changelog,no-manual-page,statically-linked-binary,unstripped-binary-or-object,embedded-library "$deb" >"$work/lintian.$arch" 2>&1 || true
		if grep -q '^E:' "$work/lintian.$arch"; then
			cat "$work/lintian.$arch"
			fail "lintian found errors in $deb"
		fi
		sed 's/^/  /' "$work/lintian.$arch"
	fi
	echo "  ok $deb"
done

echo "ship-test: install into a scratch root"
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status"
deb=$(ls dist/clonebay_*_amd64.deb | tail -1)
dpkg --root="$root" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" >/dev/null 2>"$work/dpkg.err" ||
	{ cat "$work/dpkg.err"; fail "dpkg could not install $deb into the scratch root"; }
for f in usr/bin/clonebay lib/systemd/system/clonebay.service lib/udev/rules.d/61-clonebay.rules \
	etc/clonebay/board.yaml etc/clonebay/settings.yaml; do
	[ -f "$root/$f" ] || fail "$f did not land in the scratch root"
done
[ -d "$root/var/lib/clonebay/images" ] || fail "the state folder did not land"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' clonebay | contains /etc/clonebay/board.yaml ||
	fail "/etc/clonebay/board.yaml is not a conffile"
"$root/usr/bin/clonebay" check --board "$root/etc/clonebay/board.yaml" >/dev/null || fail "the shipped board does not validate"
# The scratch root has no systemd of its own: lend it the host's units
# (without overwriting the package's) so the dependencies resolve.
cp -rn /lib/systemd/system/. "$root/lib/systemd/system/"
systemd-analyze verify --root="$root" clonebay.service || fail "systemd-analyze verify failed on the unit"
echo "  ok"
