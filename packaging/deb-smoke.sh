#!/usr/bin/env bash
# Installs the .deb on this machine and uses it as a desktop user would (run by .ci/run after
# smoke.sh; needs root, no display): `dpkg -i`; `diskplan --version` from PATH; a sample
# written and grown by the installed CLI, checked by qemu-img; the window opened from the
# desktop entry's Exec line under Xvfb; xdg-mime naming DiskPlan's types for sample .qcow2,
# .vhd, .vhdx, .vmdk, .vdi files (and for their first bytes alone, without a name) and
# diskplan.desktop as their default; then `dpkg -P` and nothing of the package left.
# Fails on any difference.
#
#   bash packaging/deb-smoke.sh [FILE.deb]    (without FILE: builds it, mvn -Ppackage-app)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deb-smoke.sh: needs root (dpkg -i)" >&2; exit 1; }

# The desktop side of a Debian system, as .ci/run installs its tools.
declare -A tools=(
  [dpkg-deb]=dpkg [qemu-img]=qemu-utils [xvfb-run]=xvfb [xauth]=xauth
  [xwininfo]=x11-utils [xprop]=x11-utils [update-mime-database]=shared-mime-info
  [update-desktop-database]=desktop-file-utils [desktop-file-validate]=desktop-file-utils
  [xdg-mime]=xdg-utils [mimetype]=libfile-mimeinfo-perl
)
missing=()
for tool in "${!tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tools[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "Installing desktop tools: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
fi

fail() { echo "deb-smoke: $*" >&2; exit 1; }
t0=$(date +%s%N)
step() { local ds=$((($(date +%s%N) - t0) / 100000000)); printf '[%3d.%d s] %s\n' $((ds / 10)) $((ds % 10)) "$*"; }

if [ $# -ge 1 ]; then
  [ $# = 1 ] && [ -f "$1" ] || fail "expected one .deb, got: $*"
  deb=$1
else
  mvn -B -ntp -q -Ppackage-app -DskipTests -pl packaging -am package
  debs=(packaging/target/diskplan_*.deb)
  [ "${#debs[@]}" = 1 ] && [ -f "${debs[0]}" ] || fail "expected one packaging/target/diskplan_*.deb: ${debs[*]}"
  deb=${debs[0]}
fi
step "package: $deb ($(du -h "$deb" | cut -f1))"

desktop=/usr/share/applications/diskplan.desktop
mimexml=/usr/share/mime/packages/diskplan.xml
if dpkg-query -W -f='${Status}' diskplan 2>/dev/null | grep -q 'installed'; then
  echo "diskplan is installed already (an earlier run stopped?): purging it first"
  dpkg -P diskplan >/dev/null
fi
for f in /opt/diskplan /usr/bin/diskplan "$desktop" "$mimexml"; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f exists before the install"
done

work=$(mktemp -d)
installed=
cleanup() {
  [ -n "$installed" ] && dpkg -P diskplan >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# Nothing of this user's own settings: xdg-mime's and DiskPlan's configuration are the run's.
unset XDG_CURRENT_DESKTOP DESKTOP_SESSION KDE_FULL_SESSION GNOME_DESKTOP_SESSION_ID DISPLAY
export XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

# --- install ---------------------------------------------------------------------------
installed=yes
dpkg -i "$deb" > "$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log" >&2; fail "dpkg -i failed"; }
[ "$(dpkg-query -W -f='${Status}' diskplan)" = "install ok installed" ] || fail "dpkg: not installed"
step "dpkg -i: installed $(dpkg-query -W -f='${Package} ${Version}' diskplan)"

# --- the command line from PATH ----------------------------------------------------------
[ "$(command -v diskplan)" = /usr/bin/diskplan ] || fail "diskplan on PATH is $(command -v diskplan)"
[ "$(readlink /usr/bin/diskplan)" = /opt/diskplan/bin/diskplan ] || fail "/usr/bin/diskplan is no link to /opt"
version=$(cd "$work" && diskplan --version)
[ "$version" = "diskplan $(dpkg-query -W -f='${Version}' diskplan)" ] ||
  fail "diskplan --version printed '$version', the package is $(dpkg-query -W -f='${Version}' diskplan)"
# postinst's class-data archive for the installed jar, and the launcher using it
app=/opt/diskplan/lib/app
[ -s "$app/diskplan.jsa" ] && [ "$(cat "$app/diskplan.jsa.for")" = "$app/diskplan-cli.jar" ] ||
  fail "postinst made no class-data archive for $app/diskplan-cli.jar"
/opt/diskplan/lib/runtime/bin/java -Xshare:on -XX:SharedArchiveFile="$app/diskplan.jsa" \
  -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$app/diskplan-cli.jar" org.diskplan.app.Main --version \
  >/dev/null 2>"$work/cds.err" || { cat "$work/cds.err" >&2; fail "the installed class-data archive does not map"; }
start=$(date +%s%N); (cd "$work" && diskplan --version >/dev/null); start=$((($(date +%s%N) - start) / 1000000))
step "diskplan --version from PATH: '$version' in $start ms (class-data archive in use)"

(cd "$work" && diskplan sample qcow2 s.qcow2 1G >/dev/null && diskplan resize s.qcow2 +1G >/dev/null)
qemu-img check "$work/s.qcow2" >/dev/null || fail "qemu-img check failed on the grown sample"
size=$(qemu-img info --output=json "$work/s.qcow2" | grep -o '"virtual-size": [0-9]*' | grep -o '[0-9]*$')
[ "$size" = 2147483648 ] || fail "installed resize left virtual size $size"
step "installed CLI: sample grown to 2 GiB, qemu-img check clean"

# --- the desktop entry and the window -----------------------------------------------------
desktop-file-validate "$desktop" >"$work/validate" 2>&1 || { cat "$work/validate" >&2; fail "invalid $desktop"; }
entry() { sed -n "s/^$1=//p" "$desktop"; }
[ "$(entry Exec)" = "diskplan %f" ] || fail "Exec=$(entry Exec)"
[ "$(entry Icon)" = diskplan ] && [ -s /usr/share/icons/hicolor/48x48/apps/diskplan.png ] &&
  [ -s /usr/share/icons/hicolor/scalable/apps/diskplan.svg ] || fail "no hicolor icon 'diskplan'"
# As a file manager does: the Exec line with %f replaced by the file.
exec_line=$(entry Exec)
cat > "$work/window.sh" <<'EOF'
$EXEC_CMD "$IMAGE" >"$WORK/window.out" 2>&1 &
pid=$!
i=0
while [ $i -lt 240 ]; do
  for id in $(xwininfo -root -tree | grep -F DiskPlan | awk '{print $1}'); do
    name=$(xprop -id "$id" _NET_WM_NAME 2>/dev/null || true)
    case "$name" in *"$EXPECT"*)
      echo "$name"; xprop -id "$id" WM_CLASS; kill $pid; wait $pid 2>/dev/null; exit 0;;
    esac
  done
  kill -0 $pid 2>/dev/null || { echo "diskplan exited:"; cat "$WORK/window.out"; exit 1; }
  sleep 0.25; i=$((i + 1))
done
echo "no window titled '$EXPECT' within 60 s:"; xwininfo -root -tree; cat "$WORK/window.out"
kill $pid; exit 1
EOF
(cd "$work" && EXEC_CMD=${exec_line% %f} IMAGE=$work/s.qcow2 WORK=$work EXPECT="DiskPlan — s.qcow2" \
  timeout 120 xvfb-run -a -s "-screen 0 1400x900x24" sh "$work/window.sh") > "$work/window" 2>&1 ||
  { cat "$work/window" >&2; fail "no window from the installed launcher"; }
grep -qF '_NET_WM_NAME(UTF8_STRING) = "DiskPlan — s.qcow2"' "$work/window" || { cat "$work/window" >&2; fail "window title"; }
grep -qF "\"$(entry StartupWMClass)\"" "$work/window" ||
  { cat "$work/window" >&2; fail "WM_CLASS is not StartupWMClass=$(entry StartupWMClass)"; }
step "window from '$exec_line': $(head -n 1 "$work/window" | sed 's/.* = //'), WM_CLASS = StartupWMClass"

# --- MIME types: by name and by content ---------------------------------------------------
types=$(grep -o '<mime-type type="[^"]*"' "$mimexml" | cut -d'"' -f2 | sort)
[ "$types" = "$(entry MimeType | tr ';' '\n' | sed '/^$/d' | sort)" ] ||
  fail "the desktop entry's MimeType= is not the types of $mimexml"
s=$work/samples
mkdir -p "$s/bare"
(cd "$s" &&
  diskplan sample qcow2 s.qcow2 >/dev/null &&
  diskplan sample vpc dynamic.vhd -o subformat=dynamic >/dev/null &&
  diskplan sample vpc fixed.vhd 8M -o subformat=fixed >/dev/null &&
  diskplan sample vhdx s.vhdx >/dev/null &&
  diskplan sample vmdk sparse.vmdk -o subformat=monolithicSparse >/dev/null &&
  diskplan sample vmdk flat.vmdk 8M -o subformat=monolithicFlat >/dev/null &&
  diskplan sample vdi s.vdi >/dev/null)
# the first 64 KiB under a name with no extension: only the content can tell
for f in s.qcow2:qcow2 dynamic.vhd:vhd s.vhdx:vhdx sparse.vmdk:vmdk-sparse flat.vmdk:vmdk-descriptor s.vdi:vdi; do
  head -c 65536 "$s/${f%%:*}" > "$s/bare/${f#*:}"
done
expect=(
  s.qcow2:application/x-qemu-disk bare/qcow2:application/x-qemu-disk
  dynamic.vhd:application/x-vhd-disk fixed.vhd:application/x-vhd-disk bare/vhd:application/x-vhd-disk
  s.vhdx:application/x-vhdx-disk bare/vhdx:application/x-vhdx-disk
  sparse.vmdk:application/x-vmdk-disk flat.vmdk:application/x-vmdk-disk
  bare/vmdk-sparse:application/x-vmdk-disk bare/vmdk-descriptor:application/x-vmdk-disk
  s.vdi:application/x-vdi-disk bare/vdi:application/x-vdi-disk
)
for e in "${expect[@]}"; do
  file=${e%%:*} want=${e#*:}
  got=$(xdg-mime query filetype "$s/$file")
  [ "$got" = "$want" ] || fail "xdg-mime query filetype $file: '$got', expected $want"
  grep -qx "$want" <<<"$types" || fail "$want is not one of DiskPlan's types"
  printf '  %-22s %s\n' "$file" "$got"
done
for type in $types; do
  got=$(xdg-mime query default "$type")
  [ "$got" = diskplan.desktop ] || fail "xdg-mime query default $type: '$got'"
done
step "xdg-mime: ${#expect[@]} samples typed as DiskPlan's; default for $(echo $types | wc -w) types: diskplan.desktop"

# --- removal --------------------------------------------------------------------------
dpkg -r diskplan > "$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log" >&2; fail "dpkg -r failed"; }
dpkg -P diskplan > "$work/dpkg-P.log" 2>&1 || { cat "$work/dpkg-P.log" >&2; fail "dpkg -P failed"; }
installed=
dpkg-query -W -f='${Status}' diskplan 2>/dev/null | grep -q installed && fail "still installed"
for f in /opt/diskplan /usr/bin/diskplan "$desktop" "$mimexml" /usr/share/icons/hicolor/*/apps/diskplan.*; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after dpkg -P"
done
command -v diskplan >/dev/null 2>&1 && fail "diskplan still on PATH: $(command -v diskplan)"
grep -q 'diskplan' /usr/share/applications/mimeinfo.cache 2>/dev/null && fail "mimeinfo.cache still names diskplan"
# the descriptor's magic was DiskPlan's alone: gone with the package
got=$(xdg-mime query filetype "$s/bare/vmdk-descriptor")
[ "$got" != application/x-vmdk-disk ] || fail "the MIME database still has DiskPlan's magic after dpkg -P"
step "dpkg -r, dpkg -P: /opt/diskplan, /usr/bin/diskplan, desktop entry, MIME XML, icons gone (bare descriptor now $got)"
echo "installed package: $version; window, MIME types and removal clean"
