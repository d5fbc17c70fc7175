#!/usr/bin/env bash
# Start-up of the command line against the JVM's floor and against qemu-img, in one run.
#
#   bash bench/startup.sh [RUNS]   (default 15; after `mvn -q -DskipTests package` for
#                                   java -jar, and `mvn -Ppackage-app -DskipTests package`
#                                   for the packaged rows, which are skipped without it;
#                                   needs qemu-img)
#
# Every row is the median wall time of RUNS runs (rows interleaved, so that a busy machine
# slows them alike):
#   - hello-world, compiled here into a temporary folder, on the packaged runtime and on the
#     `java` of PATH, each with the flags of the command it is compared with;
#   - diskplan --version, info, plan and resize -q of a small qcow2 (64 MiB, data written
#     by qemu-io), packaged (bin/diskplan) and as `java -jar` (the flags of the e2e suite);
#   - qemu-img info and qemu-img resize of the same image.
# The ratios are to the hello-world on the same JVM and flags (the issue's bar: packaged
# within 2x, java -jar within 3x). Then BATCH (default 50) small qcow2s grown by one
# `diskplan resize -q --each +1G ...` against BATCH `qemu-img resize` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
batch=${BATCH:-50}
jar=$PWD/app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
pkg=$PWD/packaging/target/jpackage/diskplan
pkg_bin=$pkg/bin/diskplan
pkg_java=$pkg/lib/runtime/bin/java
[ -x "$pkg_bin" ] || { pkg_bin=; echo "no packaged image (mvn -Ppackage-app -DskipTests package): packaged rows skipped" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"
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
cp "$work/s.qcow2" "$work/q.qcow2"

# rows: NAME|COMMAND (eval'd; $work etc. expanded at run time)
rows=()
add() { rows+=("$1|$2"); }
# shellcheck disable=SC2016
{
  add "hello-world (java of PATH, flags)" 'java $flags -cp $work Hello'
  add "java -jar --version" 'java $flags -jar $jar --version'
  add "java -jar info" 'java $flags -jar $jar info $work/s.qcow2'
  add "java -jar plan" 'java $flags -jar $jar plan $work/s.qcow2 +1G'
  add "java -jar resize -q" 'java $flags -jar $jar resize -q $work/r.qcow2 +1M'
  if [ -n "$pkg_bin" ]; then
    # the packaged launcher's flags for a command (see packaging/finish-image.sh)
    add "hello-world (packaged runtime, flags)" '$pkg_java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp $work Hello'
    add "packaged --version" '$pkg_bin --version'
    add "packaged info" '$pkg_bin info $work/s.qcow2'
    add "packaged plan" '$pkg_bin plan $work/s.qcow2 +1G'
    add "packaged resize -q" '$pkg_bin resize -q $work/r.qcow2 +1M'
  fi
  add "qemu-img info" 'qemu-img info $work/s.qcow2'
  add "qemu-img resize -q" 'qemu-img resize -q $work/q.qcow2 +1M'
}

ns() { local s e; s=$(date +%s%N); eval "$1" >/dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }; e=$(date +%s%N); echo $((e - s)); }
declare -A times
for ((i = 0; i < runs; i++)); do
  for row in "${rows[@]}"; do
    name=${row%%|*}
    times[$name]+="$(ns "${row#*|}") "
  done
done
median_ms() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
declare -A med
for row in "${rows[@]}"; do
  name=${row%%|*}
  med[$name]=$(echo "${times[$name]}" | median_ms)
done

echo "start-up, median of $runs runs ($(java -version 2>&1 | head -n 1); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-40s %10s %10s %10s\n' command "ms" "x hello" "x qemu-img"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for row in "${rows[@]}"; do
  name=${row%%|*}
  base=
  case "$name" in
    "java -jar"*) base=${med["hello-world (java of PATH, flags)"]} ;;
    "packaged"*) base=${med["hello-world (packaged runtime, flags)"]} ;;
  esac
  q=
  case "$name" in
    *info) q=${med["qemu-img info"]} ;;
    *resize*) q=${med["qemu-img resize -q"]} ;;
  esac
  printf '%-40s %10s %10s %10s\n' "$name" "${med[$name]}" "${base:+$(ratio "${med[$name]}" "$base")}" \
    "${q:+$(ratio "${med[$name]}" "$q")}"
done

# the batch: BATCH small qcow2s, one diskplan process against BATCH qemu-img runs
mkdir -p "$work/a" "$work/b"
for ((i = 0; i < batch; i++)); do
  cp "$work/s.qcow2" "$work/a/d$i.qcow2"
  cp "$work/s.qcow2" "$work/b/d$i.qcow2"
done
if [ -n "$pkg_bin" ]; then one=("$pkg_bin"); else one=(java $flags -jar "$jar"); fi
s=$(date +%s%N)
"${one[@]}" resize -q --each +1G "$work"/a/d*.qcow2
e=$(date +%s%N)
ours=$(( (e - s) / 1000000 ))
s=$(date +%s%N)
for f in "$work"/b/d*.qcow2; do qemu-img resize -q "$f" +1G; done
e=$(date +%s%N)
theirs=$(( (e - s) / 1000000 ))
for f in "$work"/a/d0.qcow2 "$work"/a/d$((batch - 1)).qcow2; do
  qemu-img check -q "$f"
  qemu-img compare -q "$f" "$work/b/$(basename "$f")"
done
echo
echo "batch of $batch qcow2s grown by 1 GiB ($([ -n "$pkg_bin" ] && echo packaged || echo java -jar)):"
printf '  one diskplan resize --each run   %8d ms\n' "$ours"
printf '  %d qemu-img resize runs          %8d ms\n' "$batch" "$theirs"
printf '  ratio diskplan/qemu-img          %8s\n' "$(ratio "$ours" "$theirs")"
