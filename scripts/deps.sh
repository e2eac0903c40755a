#!/usr/bin/env bash
# Installs the Debian packages the tests need. As root it installs what is
# missing; otherwise it names what to install and fails.
set -euo pipefail

multiarch=0
if [ "${1:-}" = "--multiarch" ]; then
	multiarch=1
	shift
fi
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in "$@"; do
	have_pkg "$pkg" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${need[*]}" >&2
	echo "install them with: sudo apt-get install ${need[*]}" >&2
	exit 1
fi
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [ "$multiarch" = 1 ]; then
	for arch in $(printf '%s\n' "${need[@]}" | sed -n 's/.*:\([a-z0-9]*\)$/\1/p' | sort -u); do
		dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
	done
fi
# One broken foreign-architecture list can make 'update' exit 100 although
# the lists we need are fine: warn and go on.
apt-get update -qq >/dev/null 2>&1 || echo "warning: apt-get update reported errors; trying the install anyway" >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
