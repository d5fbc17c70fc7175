#!/usr/bin/env bash
# Probe speed: `diskplan info` against `qemu-img info` on the same huge sparse images,
# in the same run. Probing must read O(header + tables), never O(virtual size).
#
#   bash bench/probe.sh [runs]        (after `mvn -q -DskipTests package`)
#
# Prints, per image: virtual size, file size on disk, the median wall time of each
# tool over N runs (default 7; DiskPlan's includes JVM start-up), and DiskPlan's
# in-process probe time (median, warm) with the number of fields and regions found.
# Run it on an idle machine: the wall times are start-up dominated and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
jar=app-fx/target/diskplan.jar
[ -f "$jar" ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

qemu-img create -q -f qcow2 "$work/64t.qcow2" 64T
qemu-img create -q -f qcow2 -o cluster_size=2M "$work/64t-2m.qcow2" 64T
qemu-img create -q -f vhdx "$work/64t.vhdx" 64T
qemu-img create -q -f vhdx -o block_size=256M "$work/64t-256m.vhdx" 64T
qemu-img create -q -f vpc "$work/2t.vhd" 2040G
qemu-img create -q -f vmdk "$work/64t.vmdk" 64T
qemu-img create -q -f vdi "$work/64t.vdi" 64T

median_ms() { # command... -> median wall time in ms over $runs runs
  local t=()
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t+=($(( (e - s) / 1000000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

declare -A inproc
while read -r name ms fields regions; do
  inproc[$name]="$ms ($fields fields, $regions regions)"
done < <(java -cp "$jar" bench/ProbeTiming.java 21 "$work"/*)

printf '%-16s %16s %8s %12s %12s  %s\n' image virtual-size on-disk qemu-img-ms diskplan-ms 'in-process probe ms'
for f in "$work"/*; do
  vs=$(qemu-img info --output=json "$f" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n 1)
  disk=$(du -h "$f" | cut -f1)
  q=$(median_ms qemu-img info "$f")
  d=$(median_ms java -jar "$jar" info "$f")
  printf '%-16s %16s %8s %12s %12s  %s\n' "$(basename "$f")" "$vs" "$disk" "$q" "$d" "${inproc[$(basename "$f")]}"
done
