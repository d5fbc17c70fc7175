#!/usr/bin/env bash
# Builds the .deb from the finished app image (run by `mvn -Ppackage-app package` after
# finish-image.sh): a staged tree packed by dpkg-deb, so every file in it is one we put there.
#
#   /opt/diskplan/                    the app image: its own runtime, the jar, bin/diskplan
#   /usr/bin/diskplan                 -> /opt/diskplan/bin/diskplan (the launcher follows links)
#   /usr/share/applications/diskplan.desktop
#   /usr/share/mime/packages/diskplan.xml   qcow2, vhd, vhdx, vmdk, vdi (deb/diskplan-mime.xml)
#   /usr/share/icons/hicolor/*/apps/diskplan.{png,svg}
#
# The image's application class-data archive is left out: it records the jar's path where
# it was built. postinst makes one for /opt/diskplan by the training run the image carries,
# and prerm/postrm delete it, so `dpkg -r` leaves nothing behind (deb/postinst, deb/prerm,
# deb/postrm; they also refresh the MIME, desktop and icon caches).
#
# VERSION is the Maven project version; the package carries it without -SNAPSHOT, as
# `diskplan --version` prints it. File times are clamped to the last commit's
# (SOURCE_DATE_EPOCH) and owners are root.
#
#   bash packaging/build-deb.sh IMAGE_DIR VERSION OUT_DIR   -> OUT_DIR/diskplan_VERSION_ARCH.deb
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=$(cd "$1" && pwd)
version=${2%-SNAPSHOT}
mkdir -p "$3"
out=$(cd "$3" && pwd)
arch=$(dpkg --print-architecture)
src=$here/deb

stage=$out/deb
root=$stage/diskplan
rm -rf "$stage"
mkdir -p "$root/opt" "$root/usr/bin" "$root/DEBIAN"

cp -a "$image" "$root/opt/diskplan"
rm -f "$root/opt/diskplan/lib/app/diskplan.jsa" "$root/opt/diskplan/lib/app/diskplan.jsa.for"
[ -s "$root/opt/diskplan/lib/app/diskplan.training" ] ||
  { echo "build-deb.sh: $image has no lib/app/diskplan.training (run finish-image.sh)" >&2; exit 1; }
ln -s /opt/diskplan/bin/diskplan "$root/usr/bin/diskplan"

install -D -m 644 "$src/diskplan.desktop" "$root/usr/share/applications/diskplan.desktop"
install -D -m 644 "$src/diskplan-mime.xml" "$root/usr/share/mime/packages/diskplan.xml"
for n in 16 32 48 64 128 256; do
  install -D -m 644 "$src/icons/$n/diskplan.png" "$root/usr/share/icons/hicolor/${n}x$n/apps/diskplan.png"
done
install -D -m 644 "$src/icons/diskplan.svg" "$root/usr/share/icons/hicolor/scalable/apps/diskplan.svg"

# Everyone reads, root alone writes (jlink leaves some files read-only, some group-writable).
chmod -R u+rwX,go+rX,go-w "$root"

size=$(du -s -k --apparent-size "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$src/control.in" \
  > "$root/DEBIAN/control"
install -m 755 "$src/postinst" "$src/prerm" "$src/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/md5sums"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$here" log -1 --format=%ct 2>/dev/null || true)
  [ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH || unset SOURCE_DATE_EPOCH
fi
deb=$out/diskplan_${version}_$arch.deb
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
rm -rf "$stage"
echo "built $deb ($(du -h "$deb" | cut -f1))"
