#!/usr/bin/env bash
# Fetches VirtualBox's standalone disk tool vbox-img (Debian sid's contrib `virtualbox`
# package) with the libraries it needs, for the suites that let VirtualBox make images and
# check DiskPlan's results (VirtualBoxImagesTest). Nothing is installed: each .deb is
# checked against the SHA-256 in sid's package index and unpacked with dpkg-deb -x into one
# root under src/test/samples/vbox (git-ignored, never committed), and vbox-img runs through
# sid's own dynamic loader from that root, via the wrapper src/test/samples/vbox/vbox-img.
#
# Idempotent: does nothing when the wrapper is there and `vbox-img --version` works.
# A failure prints why; it exits non-zero (so CI fails) only when CI=true, since the
# suites then skip visibly on a developer machine (and fail under CI, where they are
# mandatory).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/samples/vbox"
wrapper="$dest/vbox-img"
mirror="${DISKPLAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What vbox-img, VBoxRT.so and VBoxDDU.so link against; their dependencies are resolved
# from the index (first alternative, Depends and Pre-Depends, Provides honoured).
roots=(libc6 liblzf1 zlib1g libxml2-16 libcurl3t64-gnutls liblzma5 libssl3t64 libstdc++6 libgcc-s1)
# Packages a library's Depends names that hold nothing a library needs at run time.
skip=" debconf libc-bin dpkg perl-base "

if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  exit 0
fi

fail() {
  echo "fetch-vbox.sh: $*" >&2
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
  echo "fetch-vbox.sh: the VirtualBox suites will be skipped" >&2
  exit 0
}

for tool in curl xz dpkg-deb sha256sum awk; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching VirtualBox's vbox-img from Debian sid ($mirror)"
for comp in main contrib; do
  curl -fsSL --retry 3 -o "$work/$comp.xz" "$mirror/dists/sid/$comp/binary-amd64/Packages.xz" \
    || fail "cannot fetch $mirror/dists/sid/$comp/binary-amd64/Packages.xz"
  xz -dc "$work/$comp.xz" >>"$work/Packages" || fail "cannot decompress sid's $comp index"
  # a stanza must end with an empty line even when the file's last line has no newline
  printf '\n\n' >>"$work/Packages"
done

# One line per package: name, Filename, SHA256, first alternatives of Depends+Pre-Depends
# (comma-separated names), Provides (comma-separated names); tab-separated.
awk '
  function flush() {
    if (pkg != "") {
      print pkg "\t" file "\t" sha "\t" deps "\t" prov
    }
    pkg = ""; file = ""; sha = ""; deps = ""; prov = ""; field = ""
  }
  function names(list, first,   n, parts, i, alt, out, name) {
    n = split(list, parts, ",")
    out = ""
    for (i = 1; i <= n; i++) {
      alt = parts[i]
      if (first) sub(/\|.*/, "", alt)
      sub(/\(.*/, "", alt); sub(/\[.*/, "", alt); sub(/<.*/, "", alt)
      gsub(/[ \t]/, "", alt); sub(/:.*/, "", alt)
      if (alt != "") out = out (out == "" ? "" : ",") alt
    }
    return out
  }
  /^$/ { flush(); next }
  /^[ \t]/ { if (field == "deps" || field == "prov") value = value $0; next }
  {
    if (field == "deps") { d = names(value, 1); if (d != "") deps = deps (deps == "" ? "" : ",") d }
    if (field == "prov") prov = names(value, 0)
    field = ""
  }
  /^Package:/ { pkg = $2; next }
  /^Filename:/ { file = $2; next }
  /^SHA256:/ { sha = $2; next }
  /^(Depends|Pre-Depends):/ { field = "deps"; value = $0; sub(/^[^:]*:/, "", value); next }
  /^Provides:/ { field = "prov"; value = $0; sub(/^[^:]*:/, "", value); next }
  END { flush() }
' "$work/Packages" >"$work/table"

declare -A file sha deps provider
while IFS=$'\t' read -r p f s d v; do
  # the first stanza of a name wins (main before contrib)
  [ -n "${file[$p]:-}" ] && continue
  file[$p]="$f"; sha[$p]="$s"; deps[$p]="$d"
  if [ -n "$v" ]; then
    IFS=',' read -ra provided <<<"$v"
    for q in "${provided[@]}"; do
      [ -n "${provider[$q]:-}" ] || provider[$q]="$p"
    done
  fi
done <"$work/table"

[ -n "${file[virtualbox]:-}" ] || fail "no package virtualbox in sid's contrib index"
declare -A wanted
queue=("${roots[@]}")
while [ "${#queue[@]}" -gt 0 ]; do
  p="${queue[0]}"
  queue=("${queue[@]:1}")
  if [ -z "${file[$p]:-}" ]; then
    [ -n "${provider[$p]:-}" ] || fail "no package provides $p in sid's index"
    p="${provider[$p]}"
  fi
  case "$skip" in *" $p "*) continue ;; esac
  [ -n "${wanted[$p]:-}" ] && continue
  wanted[$p]=1
  if [ -n "${deps[$p]}" ]; then
    IFS=',' read -ra more <<<"${deps[$p]}"
    queue+=("${more[@]}")
  fi
done
wanted[virtualbox]=1

rm -rf "$dest"
mkdir -p "$dest/root"
for p in $(printf '%s\n' "${!wanted[@]}" | sort); do
  deb="$work/$p.deb"
  curl -fsSL --retry 3 -o "$deb" "$mirror/${file[$p]}" || fail "cannot fetch $mirror/${file[$p]}"
  echo "${sha[$p]}  $deb" | sha256sum -c --quiet - || fail "SHA-256 of ${file[$p]} differs from sid's index"
  dpkg-deb -x "$deb" "$dest/root" || fail "cannot unpack ${file[$p]}"
  echo "  ${file[$p]##*/}"
  rm -f "$deb"
done

cat >"$wrapper" <<'EOF'
#!/bin/sh
# VirtualBox's vbox-img from Debian sid, run through sid's loader and libraries (fetch-vbox.sh).
root="$(cd "$(dirname "$0")" && pwd)/root"
exec "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
  --library-path "$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/virtualbox" \
  "$root/usr/lib/virtualbox/vbox-img" "$@"
EOF
chmod +x "$wrapper"
version="$("$wrapper" --version 2>&1)" || fail "vbox-img does not run: $version"
echo "vbox-img $version in $dest (${#wanted[@]} packages)"
