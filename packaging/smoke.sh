#!/usr/bin/env bash
# Builds the packaged app image and uses it as a user would (run by .ci/run after the
# tests): --version, a sample written and grown by bin/diskplan, the result checked by
# qemu-img. Fails on any difference. The build also makes the .deb (deb-smoke.sh uses it)
# and replaces a previous image itself.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -Ppackage-app -DskipTests -pl packaging -am package
bin=packaging/target/jpackage/diskplan/bin/diskplan
version=$("$bin" --version)
# the one version: the Maven project's without -SNAPSHOT (app-fx's filtered version.properties)
expected="diskplan $(sed -n 's/^version=//p' app-fx/target/classes/org/diskplan/app/version.properties)"
expected=${expected%-SNAPSHOT}
[ "$version" = "$expected" ] || { echo "packaged --version printed '$version', expected '$expected'" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" sample qcow2 "$work/s.qcow2" 1G >/dev/null
"$bin" resize "$work/s.qcow2" +1G >/dev/null
qemu-img check "$work/s.qcow2" >/dev/null
size=$(qemu-img info --output=json "$work/s.qcow2" | grep -o '"virtual-size": [0-9]*' | grep -o '[0-9]*$')
[ "$size" = 2147483648 ] || { echo "packaged resize left virtual size $size" >&2; exit 1; }
echo "packaged app: $version; sample grown to 2 GiB, qemu-img check clean"
