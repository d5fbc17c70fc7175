#!/usr/bin/env bash
# Issue 20's JDK 25 prototype, side by side with today's packaged image: is a JDK 25 runtime
# with an AOT cache (JEP 483/514/515) within 2x of a hello-world on the same runtime?
# Measures only; it changes nothing of the build.
#
#   bash bench/startup-aot.sh [RUNS]   (default 15; after `mvn -Ppackage-app -DskipTests
#                                       package`; JDK25=DIR, default Temurin 25's path;
#                                       KEEP=1 keeps the temporary folder)
#
# In a temporary folder it makes, from today's image (packaging/target/jpackage/diskplan):
#   - a JDK 25 app image: JDK 25's jpackage, the same jar, the modules of today's runtime
#     less those JDK 25 has not (jdk.incubator.foreign, jdk.random) or cannot link without
#     its jmods (jdk.jlink, jdk.jpackage), the runtime's default CDS archive (-Xshare:dump)
#     and JNA's native library unpacked, as finish-image.sh does;
#   - an AOT cache (lib/app/diskplan.aot) from ONE training run of today's training commands
#     (lib/app/diskplan.training through -Ddiskplan.cdsTraining, -XX:AOTCacheOutput), with
#     the launcher's flags;
#   - today's launcher with -XX:AOTCache in place of -XX:SharedArchiveFile (and without
#     -Xshare:auto, which JDK 25 refuses beside -XX:AOTCache; it is the default anyway).
# Rows (interleaved, median of RUNS): on each runtime a hello-world with the runtime's
# default CDS archive only and the launcher's flags (the JVM's floor), then bin/diskplan
# info, plan and resize -q of the small qcow2 of bench/startup.sh; the ratio is to the
# hello-world on the same runtime. Then the phases of the hello-world and of `plan` (java
# started directly, as the launcher does) from -Xlog:startuptime and -Xlog:class+init,
# median of RUNS: the JVM up (Create VM), Main (or Hello) initialised, the probe
# (ImageProber), the planner (PlanBuilder), the last class initialised.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
jdk25=${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}
p17=$PWD/packaging/target/jpackage/diskplan
[ -x "$p17/bin/diskplan" ] || { echo "build first: mvn -Ppackage-app -DskipTests package" >&2; exit 1; }
[ -x "$jdk25/bin/jpackage" ] || { echo "no JDK 25 at $jdk25 (JDK25=DIR)" >&2; exit 1; }
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fast="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

# --- the JDK 25 image -----------------------------------------------------------------
mods=
for m in $(sed -n 's/^MODULES="\(.*\)"$/\1/p' "$p17/lib/runtime/release"); do
  case $m in jdk.jlink|jdk.jpackage) continue ;; esac
  "$jdk25/bin/java" --describe-module "$m" >/dev/null 2>&1 && mods=$mods,$m
done
mkdir -p "$work/input"
cp "$p17/lib/app/diskplan.jar" "$work/input/"
cp -r "$p17/lib/app/lib" "$work/input/"   # the libraries diskplan.jar's Class-Path names
"$jdk25/bin/jpackage" --type app-image --name diskplan --input "$work/input" --main-jar diskplan.jar \
  --add-modules "${mods#,}" --jlink-options "--strip-debug --no-man-pages --no-header-files" \
  --dest "$work/p25"
p25=$work/p25/diskplan
app=$p25/lib/app
"$p25/lib/runtime/bin/java" -Xshare:dump >/dev/null
cp "$p17/lib/app/diskplan.training" "$app/"
[ ! -d "$p17/lib/app/jna" ] || cp -r "$p17/lib/app/jna" "$app/"
mkdir -p "$work/train"
# shellcheck disable=SC2086
"$p25/lib/runtime/bin/java" -XX:AOTCacheOutput="$app/diskplan.aot" $fast -Djna.boot.library.path="$app/jna" \
  -Ddiskplan.cdsTraining="$work/train" -jar "$app/diskplan.jar" < "$app/diskplan.training" >"$work/train.log" 2>&1 ||
  { cat "$work/train.log" >&2; exit 1; }
# it must map: -XX:AOTMode=on fails where it cannot
# shellcheck disable=SC2086
"$p25/lib/runtime/bin/java" -XX:AOTCache="$app/diskplan.aot" -XX:AOTMode=on $fast -Djna.boot.library.path="$app/jna" \
  -jar "$app/diskplan.jar" --version >/dev/null
printf '%s\n' "$app/diskplan.jar" > "$app/diskplan.jsa.for"
sed -e 's/-XX:SharedArchiveFile=\$app\/diskplan.jsa/-XX:AOTCache=$app\/diskplan.aot/' \
  -e 's/\[ -r "\$app\/diskplan.jsa" \]/[ -r "$app\/diskplan.aot" ]/' \
  -e 's/ \$cds -Xshare:auto / $cds /' "$p17/bin/diskplan" > "$p25/bin/diskplan"
chmod +x "$p25/bin/diskplan"
grep -q AOTCache "$p25/bin/diskplan" || { echo "startup-aot.sh: could not make the JDK 25 launcher" >&2; exit 1; }

# --- rows -------------------------------------------------------------------------------
cat > "$work/Hello.java" <<'EOF'
public class Hello {
    public static void main(String[] args) {
        System.out.println("hello");
    }
}
EOF
javac --release 17 -d "$work" "$work/Hello.java"
qemu-img create -q -f qcow2 "$work/s.qcow2" 64M
qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 40M 1M' "$work/s.qcow2" >/dev/null
cp "$work/s.qcow2" "$work/r.qcow2"
rows=()
for v in 17 25; do
  eval "img=\$p$v"
  rows+=("jdk$v hello|$img/lib/runtime/bin/java -Xshare:auto $fast -cp $work Hello"
    "jdk$v info|$img/bin/diskplan info $work/s.qcow2"
    "jdk$v plan|$img/bin/diskplan plan $work/s.qcow2 +1G"
    "jdk$v resize -q|$img/bin/diskplan resize -q $work/r.qcow2 +1M")
done
ns() { local s e; s=$(date +%s%N); eval "$1" >/dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }; e=$(date +%s%N); echo $((e - s)); }
declare -A times
for ((i = 0; i < runs; i++)); do
  for row in "${rows[@]}"; do
    times[${row%%|*}]+="$(ns "${row#*|}") "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
echo "start-up, median of $runs runs ($(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "  jdk17: today's image (dynamic AppCDS); jdk25: $("$jdk25/bin/java" -version 2>&1 | sed -n 2p), AOT cache"
printf '%-20s %10s %10s\n' command ms "x hello"
for row in "${rows[@]}"; do
  name=${row%%|*}
  m=$(echo "${times[$name]}" | median)
  h=$(echo "${times[${name%% *} hello]}" | median)
  printf '%-20s %10s %10s\n' "$name" "$m" "$(awk -v a="$m" -v b="$h" 'BEGIN {printf "%.2f", a / b}')"
done

# --- phases of one plan run -------------------------------------------------------------
echo
echo "phases (ms since the JVM's start, median of $runs runs; Main: Hello for the hello-world):"
printf '%-20s %8s %8s %8s %8s %8s\n' "" "VM up" "Main" probe planner "last init"
phases() { # JAVA ARGUMENTS...
  local k java=$1
  shift
  declare -A col
  for ((k = 0; k < runs; k++)); do
    "$java" -Xlog:startuptime:file="$work/su":uptime -Xlog:class+init=info:file="$work/ci":uptime "$@" >/dev/null 2>&1 ||
      { echo "failed: $*" >&2; exit 1; }
    col[0]+="$(grep 'Create VM' "$work/su" | cut -c2-6 || true) "
    col[1]+="$(grep -m1 -e "'org/diskplan/app/Main'" -e "'Hello'" "$work/ci" | cut -c2-6 || true) "
    col[2]+="$(grep -m1 "'org/diskplan/probe/ImageProber'" "$work/ci" | cut -c2-6 || true) "
    col[3]+="$(grep -m1 "'org/diskplan/planner/PlanBuilder'" "$work/ci" | cut -c2-6 || true) "
    col[4]+="$(tail -n 1 "$work/ci" | cut -c2-6 || true) "
  done
  for k in 0 1 2 3 4; do printf ' %8s' "$(echo "${col[$k]}" | tr ' ' '\n' | grep . | sort -n |
    awk '{a[NR]=$1} END {if (NR) printf "%.0f", a[int((NR+1)/2)]*1000; else printf "-"}')"; done
  echo
}
# shellcheck disable=SC2086
for v in 17 25; do
  eval "img=\$p$v"
  a=$img/lib/app
  if [ $v = 17 ]; then arch="-XX:SharedArchiveFile=$a/diskplan.jsa -Xshare:auto"; else arch=-XX:AOTCache=$a/diskplan.aot; fi
  printf '%-20s' "jdk$v hello"
  phases "$img/lib/runtime/bin/java" -Xshare:auto $fast -cp "$work" Hello
  printf '%-20s' "jdk$v plan"
  phases "$img/lib/runtime/bin/java" $arch $fast -Djna.boot.library.path="$a/jna" -jar "$a/diskplan.jar" \
    plan "$work/s.qcow2" +1G
done
