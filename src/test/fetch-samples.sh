#!/usr/bin/env bash
# Fetches disk images made by the tools DiskPlan must interoperate with (Hyper-V,
# Virtual PC, disk2vhd, VMware ESXi, ...) for the real-image suites. They are qemu's
# own iotest sample images ("created not by QEMU itself, but rather by the native
# tool", its README says), taken from Debian's source package of qemu 7.2 — a
# registry CI reaches — and checked against a pinned SHA-256. Nothing is committed:
# they land in src/test/samples/qemu (git-ignored), where the suites find them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/samples/qemu"
url="http://deb.debian.org/debian/pool/main/q/qemu/qemu_7.2+dfsg.orig.tar.xz"
sha256="91aca71520040edc40b8d437aa3004dae614f58e286cf653ee8996c07af2962f"
inner="qemu-7.2.0/tests/qemu-iotests/sample_images"

if [ -f "$dest/.complete" ]; then
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching qemu's sample images from $url"
curl -fsSL --retry 3 -o "$work/qemu.tar.xz" "$url"
echo "$sha256  $work/qemu.tar.xz" | sha256sum -c --quiet -
tar -xJf "$work/qemu.tar.xz" -C "$work" --wildcards "$inner/*"
rm -rf "$dest"
mkdir -p "$dest"
cp "$work/$inner"/* "$dest"/
# Keep the .bz2 files as they came; tests decompress a fresh copy for each case.
touch "$dest/.complete"
ls "$dest"
