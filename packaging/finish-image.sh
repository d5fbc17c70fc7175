#!/usr/bin/env bash
# Finishes the jpackage app image (run by `mvn -Ppackage-app package` after jpackage):
#
# 1. the runtime's default class-data archive (lib/server/classes.jsa), which jlink leaves
#    out on JDK 17: without it every start loads and verifies the JDK's classes anew;
# 2. an application archive (lib/app/diskplan.jsa) of the classes the command line loads,
#    from a class list recorded while running every command path on samples;
# 3. JNA's native library unpacked into lib/app/jna (JNA would unpack it at every start);
# 4. bin/diskplan as a shell launcher. JDK 17's native jpackage launcher runs `rpm -qf`
#    and `dpkg -S` on its own path at every start (about 130 ms here, measured with strace);
#    the script starts the image's runtime directly with `-jar` (the manifest opens
#    java.io), adding -XX:TieredStopAtLevel=1 -XX:+UseSerialGC for command-line words. It
#    follows symbolic links to itself (the .deb links /usr/bin/diskplan to it).
#
# The application archive records the jar's absolute path: the launcher uses it only where
# the image was built (elsewhere the runtime's default archive still applies). The class
# list stays in the image (lib/app/diskplan.classlist) so that an installed copy can make
# its own archive in place (the .deb's postinst does, see build-deb.sh).
#
# VERSION is the Maven project version; the image carries it without -SNAPSHOT, as
# `diskplan --version` prints it.
#
#   bash packaging/finish-image.sh IMAGE_DIR VERSION
set -euo pipefail
image=$(cd "$1" && pwd)
version=${2:?usage: finish-image.sh IMAGE_DIR VERSION}
version=${version%-SNAPSHOT}
java=$image/lib/runtime/bin/java
app=$image/lib/app
# No --add-opens on the command line: the jar's manifest opens java.io (Fallocate) under
# -jar, and a command-line --add-opens would switch off the archived module graph (about
# 40 ms of every start on JDK 17).
# Start-up flags of the launcher (and of the training runs): a command line runs for well
# under a second, where C1 alone and the serial collector start fastest.
fast="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

"$java" -Xshare:dump >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
list=$work/classes.lst
runs=0
run() {
  runs=$((runs + 1))
  # shellcheck disable=SC2086
  "$java" -XX:DumpLoadedClassList="$list.$runs" $fast -Djna.boot.library.path="$app/jna" \
    -jar "$app/diskplan.jar" "$@" >/dev/null 2>&1 || true
}
# JNA's native part, unpacked once: otherwise JNA unpacks it to a temporary file at every start.
jna_arch=$(uname -m | sed -e 's/^x86_64$/x86-64/' -e 's/^amd64$/x86-64/')
mkdir -p "$app/jna" "$work/jna"
if (cd "$work/jna" && jar xf "$app/diskplan.jar" "com/sun/jna/linux-$jna_arch/libjnidispatch.so") &&
  [ -s "$work/jna/com/sun/jna/linux-$jna_arch/libjnidispatch.so" ]; then
  cp "$work/jna/com/sun/jna/linux-$jna_arch/libjnidispatch.so" "$app/jna/"
else
  rmdir "$app/jna"
fi
# every command path: the quick forms, --each, and picocli's (help, an error)
run --version
run sample qcow2 "$work/s.qcow2" 1G
run sample qcow2 "$work/t.qcow2" 1G
run info "$work/s.qcow2"
run info -f qcow2 --output=json "$work/s.qcow2"
run plan "$work/s.qcow2" 2G
run plan --output=json "$work/s.qcow2" 2G
run resize "$work/s.qcow2" 2G
run resize -q "$work/s.qcow2" +1G
run resize --output=json "$work/s.qcow2" +1G
run resize -q --each +1G "$work/s.qcow2" "$work/t.qcow2"
run plan --each +1G "$work/s.qcow2" "$work/t.qcow2"
run resize --help
run info "$work/missing.qcow2"
run resize -f qcow2 -f qcow2 "$work/s.qcow2" 2G
cat "$list".* | sort -u > "$list"
cp "$list" "$app/diskplan.classlist"
# shellcheck disable=SC2086
"$java" -Xshare:dump -XX:SharedClassListFile="$list" -XX:SharedArchiveFile="$app/diskplan.jsa" $fast \
  -cp "$app/diskplan.jar" >/dev/null 2>&1
printf '%s\n' "$app/diskplan.jar" > "$app/diskplan.jsa.for"

rm -f "$image/bin/diskplan"
cat > "$image/bin/diskplan" <<'EOF'
#!/bin/sh
# DiskPlan launcher (see packaging/finish-image.sh): the image's own runtime, the options
# of lib/app/diskplan.cfg, and the class-data archive where it was made for this place.
self=$(readlink -f "$0")
here=${self%/bin/*}
app=$here/lib/app
cds=
if [ -r "$app/diskplan.jsa" ] && [ "$(cat "$app/diskplan.jsa.for" 2>/dev/null)" = "$app/diskplan.jar" ]; then
  cds=-XX:SharedArchiveFile=$app/diskplan.jsa
fi
fast=
case "${1:-}" in
  # the command line: C1 only and the serial collector start fastest; the window keeps the defaults
  info|plan|resize|recover|sample|help|-*) fast="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" ;;
esac
jna=
[ -d "$app/jna" ] && jna=-Djna.boot.library.path=$app/jna
# -jar: the manifest's Add-Opens, without the cost of --add-opens (see finish-image.sh)
exec "$here/lib/runtime/bin/java" $cds -Xshare:auto $fast $jna -Djpackage.app-version=@VERSION@ \
  -jar "$app/diskplan.jar" "$@"
EOF
sed -i "s/@VERSION@/$version/" "$image/bin/diskplan"
chmod +x "$image/bin/diskplan"
sed -i "s/^java-options=-Djpackage.app-version=.*/java-options=-Djpackage.app-version=$version/" \
  "$app/diskplan.cfg"
