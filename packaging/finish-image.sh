#!/usr/bin/env bash
# Finishes the jpackage app image (run by `mvn -Ppackage-app package` after jpackage):
#
# 1. the runtime's default class-data archive (lib/server/classes.jsa), which jlink leaves
#    out on JDK 17: without it every start loads and verifies the JDK's classes anew;
# 2. the command line's jar (lib/app/diskplan-cli.jar: DiskPlan's classes less the window's,
#    about 350 entries, whose manifest names only lib/'s JNA, picocli and Jackson jars;
#    built by app-fx as target/diskplan-cli.jar)
#    and an application archive (lib/app/diskplan.jsa, dynamic, over the default one) of the
#    classes the command line loads, from one training run of every command path
#    (lib/app/diskplan.training, run through Main's own route: -Ddiskplan.cdsTraining, CdsTraining);
# 3. JNA's native library unpacked into lib/app/jna (JNA would unpack it at every start);
# 4. bin/diskplan as a shell launcher. JDK 17's native jpackage launcher runs `rpm -qf`
#    and `dpkg -S` on its own path at every start (about 130 ms here, measured with strace);
#    the script starts the image's runtime directly: command words with the command
#    line's jar on the class path and its archive, the window with `-jar` and diskplan.jar,
#    adding -XX:TieredStopAtLevel=1 -XX:+UseSerialGC for command-line words. It
#    follows symbolic links to itself (the .deb links /usr/bin/diskplan to it).
#
# The application archive records the jar's absolute path: the launcher uses it only where
# the image was built (elsewhere the runtime's default archive still applies). The training
# commands stay in the image (lib/app/diskplan.training) so that an installed copy can make
# its own archive in place (the .deb's postinst does, see build-deb.sh).
#
# VERSION is the Maven project version; the image carries it without -SNAPSHOT, as
# `diskplan --version` prints it.
#
#   bash packaging/finish-image.sh IMAGE_DIR VERSION CLI_JAR
set -euo pipefail
image=$(cd "$1" && pwd)
version=${2:?usage: finish-image.sh IMAGE_DIR VERSION CLI_JAR}
version=${version%-SNAPSHOT}
cli_jar=${3:?usage: finish-image.sh IMAGE_DIR VERSION CLI_JAR}
java=$image/lib/runtime/bin/java
app=$image/lib/app
[ -s "$cli_jar" ] || { echo "finish-image.sh: no command-line jar at $cli_jar (build app-fx first)" >&2; exit 1; }
cp "$cli_jar" "$app/diskplan-cli.jar"
# No --add-opens and no manifest Add-Opens: a command-line --add-opens switches off the
# archived module graph (about 40 ms of every start on JDK 17), and applying a manifest's
# costs a command about a tenth of its start; Fallocate finds its descriptor in
# /proc/self/fd instead.
# Start-up flags of the launcher (and of the training runs): a command line runs for well
# under a second, where C1 alone and the serial collector start fastest.
fast="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

"$java" -Xshare:dump >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# JNA's native part, unpacked once: otherwise JNA unpacks it to a temporary file at every start.
jna_arch=$(uname -m | sed -e 's/^x86_64$/x86-64/' -e 's/^amd64$/x86-64/')
mkdir -p "$app/jna" "$work/jna"
jna_jar=$(ls "$app"/lib/jna-*.jar 2>/dev/null | head -n 1)
if [ -n "$jna_jar" ] && (cd "$work/jna" && jar xf "$jna_jar" "com/sun/jna/linux-$jna_arch/libjnidispatch.so") &&
  [ -s "$work/jna/com/sun/jna/linux-$jna_arch/libjnidispatch.so" ]; then
  cp "$work/jna/com/sun/jna/linux-$jna_arch/libjnidispatch.so" "$app/jna/"
else
  rmdir "$app/jna"
fi
# Every command path in one JVM (CdsTraining): the quick forms, --each, and picocli's (help,
# errors). A dynamic archive on top of the runtime's default one: measured with
# bench/startup.sh's commands it starts faster than a static archive of the same classes
# (which replaces the default archive and maps three times the bytes).
cat > "$app/diskplan.training" <<'TRAINING'
--version
sample qcow2 @DIR@/s.qcow2 1G
sample qcow2 @DIR@/t.qcow2 1G
sample raw @DIR@/r.raw 1M
info @DIR@/s.qcow2
info -f raw @DIR@/r.raw
info -f qcow2 --output=json @DIR@/s.qcow2
plan @DIR@/s.qcow2 2G
plan --output=json @DIR@/s.qcow2 2G
resize @DIR@/s.qcow2 2G
resize -q @DIR@/s.qcow2 +1G
resize -q -f raw @DIR@/r.raw +1M
resize --output=json @DIR@/s.qcow2 +1G
resize -q --each +1G @DIR@/s.qcow2 @DIR@/t.qcow2
plan --each +1G @DIR@/s.qcow2 @DIR@/t.qcow2
resize --help
info @DIR@/missing.qcow2
resize -f qcow2 -f qcow2 @DIR@/s.qcow2 2G
TRAINING
mkdir -p "$work/train"
# shellcheck disable=SC2086
# Started as the launcher starts a command (the command line's jar, its flags), with the
# training property: Main then runs each line through its own command-line route
# (CdsTraining), so the archive also holds what Main loads.
"$java" -XX:ArchiveClassesAtExit="$app/diskplan.jsa" -Xshare:auto $fast -Djna.boot.library.path="$app/jna" \
  -Ddiskplan.cdsTraining="$work/train" -cp "$app/diskplan-cli.jar" org.diskplan.app.Main \
  < "$app/diskplan.training" >/dev/null 2>&1
[ -s "$app/diskplan.jsa" ] || { echo "finish-image.sh: no class-data archive made" >&2; exit 1; }
# The archive must be used (-Xshare:on fails loud where it cannot be mapped) and hold what a
# command loads first: Main and DiskPlanCli.
# shellcheck disable=SC2086
loaded=$("$java" -XX:SharedArchiveFile="$app/diskplan.jsa" -Xshare:on $fast -Djna.boot.library.path="$app/jna" \
  -Xlog:class+load -cp "$app/diskplan-cli.jar" org.diskplan.app.Main --version) ||
  { echo "finish-image.sh: the class-data archive cannot be used" >&2; exit 1; }
for c in org.diskplan.app.Main org.diskplan.app.cli.DiskPlanCli; do
  grep -q "$c.* source: shared objects file" <<<"$loaded" ||
    { echo "finish-image.sh: $c is not in the class-data archive" >&2; exit 1; }
done
printf '%s\n' "$app/diskplan-cli.jar" > "$app/diskplan.jsa.for"

rm -f "$image/bin/diskplan"
cat > "$image/bin/diskplan" <<'EOF'
#!/bin/sh
# DiskPlan launcher (see packaging/finish-image.sh): the image's own runtime, the options
# of lib/app/diskplan.cfg, and the class-data archive where it was made for this place.
self=$(readlink -f "$0")
here=${self%/bin/*}
app=$here/lib/app
jna=
[ -d "$app/jna" ] && jna=-Djna.boot.library.path=$app/jna
case "${1:-}" in
  info|plan|resize|recover|sample|help|-*)
    # the command line: its own jar (no JavaFX) and class-data archive; C1 only and the
    # serial collector start fastest
    if [ -r "$app/diskplan-cli.jar" ]; then
      cds=
      built=
      [ -r "$app/diskplan.jsa.for" ] && read -r built < "$app/diskplan.jsa.for"
      if [ -r "$app/diskplan.jsa" ] && [ "$built" = "$app/diskplan-cli.jar" ]; then
        cds=-XX:SharedArchiveFile=$app/diskplan.jsa
      fi
      exec "$here/lib/runtime/bin/java" $cds -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC $jna \
        -Djpackage.app-version=@VERSION@ -cp "$app/diskplan-cli.jar" org.diskplan.app.Main "$@"
    fi
    ;;
esac
# the window (or a word Main sorts out): the jar whose manifest also names JavaFX's
exec "$here/lib/runtime/bin/java" -Xshare:auto $jna -Djpackage.app-version=@VERSION@ \
  -jar "$app/diskplan.jar" "$@"
EOF
sed -i "s/@VERSION@/$version/" "$image/bin/diskplan"
chmod +x "$image/bin/diskplan"
sed -i "s/^java-options=-Djpackage.app-version=.*/java-options=-Djpackage.app-version=$version/" \
  "$app/diskplan.cfg"
