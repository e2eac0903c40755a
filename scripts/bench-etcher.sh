#!/usr/bin/env bash
# Installs etcher-sdk (balena's flashing library, the engine of balenaEtcher)
# from the npm registry into a cache folder, builds its native modules
# against the system's Node headers, and writes a small flasher around its
# multi-write with verify. Prints the flasher's path, or nothing (and exits
# 1) when Node, npm or the build is missing. Usage: bench-etcher.sh [DIR]
set -euo pipefail
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/clonebay-bench/etcher}
version=10.2.15
command -v node >/dev/null && command -v npm >/dev/null || { echo "bench-etcher: node and npm are needed (Debian: nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
if [ ! -f node_modules/etcher-sdk/package.json ] || ! grep -q "\"version\": \"$version\"" node_modules/etcher-sdk/package.json; then
	# One of its dependencies names a git commit; the registry's release of
	# the same module stands in for it.
	cat >package.json <<EOF
{"name": "clonebay-bench-etcher", "version": "1.0.0", "private": true,
 "dependencies": {"etcher-sdk": "$version"},
 "overrides": {"unbzip2-stream": "1.4.3"}}
EOF
	npm install --no-audit --no-fund --loglevel=error >&2
fi
# npm no longer runs install scripts unasked: build the native modules the
# block-device writer needs, against the installed Node's headers.
gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
for m in @ronomon/direct-io xxhash-addon drivelist; do
	if [ -z "$(find "node_modules/$m/build" -name '*.node' 2>/dev/null | head -1)" ]; then
		(cd "node_modules/$m" && node "$gyp" rebuild --nodedir="$nodedir" >&2)
	fi
done
cat >flash.js <<'EOF'
// Flashes a raw image onto block devices with etcher-sdk's multi-write and
// its verify (it reads every target back). Usage: node flash.js IMAGE DEV...
const sdk = require('etcher-sdk');
const fs = require('fs');
async function main() {
  const [image, ...devs] = process.argv.slice(2);
  const source = new sdk.sourceDestination.File({ path: image });
  const destinations = devs.map((d) => {
    const size = Number(fs.readFileSync(`/sys/class/block/${d.replace('/dev/', '')}/size`, 'utf8')) * 512;
    return new sdk.sourceDestination.BlockDevice({
      drive: { device: d, raw: d, devicePath: null, size, isSystem: false, isRemovable: true, mountpoints: [],
        description: d, blockSize: 512, logicalBlockSize: 512, busType: 'USB', isReadOnly: false,
        isVirtual: false, isCard: false, isSCSI: false, isUSB: true, isUAS: false, enumerator: 'bench',
        busVersion: null, error: null, partitionTableType: null, displayName: d },
      write: true, direct: true, unmountOnSuccess: false,
    });
  });
  const failed = [];
  const res = await sdk.multiWrite.decompressThenFlash({
    source, destinations, verify: true, trim: false,
    onFail: (dest, err) => failed.push(`${dest.drive ? dest.drive.device : '?'}: ${err.message}`),
    onProgress: () => {},
  });
  if (failed.length || res.failures.size) {
    console.error('etcher-sdk failed:', failed.join('; '));
    process.exit(1);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
EOF
node -e "require('$dir/node_modules/etcher-sdk')" >/dev/null 2>&1 || { echo "bench-etcher: etcher-sdk does not load" >&2; exit 1; }
echo "$dir/flash.js"
