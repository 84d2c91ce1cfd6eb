#!/usr/bin/env bash
# Builds the image sysmaster:dev with no registry: a base made from this machine (its node, the libraries ldd lists,
# a static busybox for /bin/sh and the usual tools) plus the built project (dist/, bin/, package.json and the
# production node_modules only). Run it after `npm ci && npm run build`; `npm run image` runs it.
#
#   containers/build.sh [TAG]        TAG defaults to $SYSMASTER_IMAGE, else sysmaster:dev
#
# Users with a registry can build containers/Dockerfile.node instead (see docs/containers.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-${SYSMASTER_IMAGE:-sysmaster:dev}}
die() { echo "containers/build.sh: $*" >&2; exit 1; }

[[ -f $root/dist/init/main.js && -f $root/dist/reconciler/main.js ]] || die "dist/ is not built: run npm ci && npm run build first"
command -v docker >/dev/null || die "no docker CLI on PATH (Debian: apt-get install -y docker.io)"
node=$(readlink -f "$(command -v node)") || die "no node on PATH"

# A dynamic busybox would need its own libraries; Debian's busybox-static needs none.
busybox=/bin/busybox
if [[ ! -x $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
  command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] || die "need a static busybox at $busybox (Debian: apt-get install -y busybox-static)"
  echo "installing busybox-static (for the image's /bin/sh)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; }
fi

ctx=$(mktemp -d /tmp/sysmaster-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
t0=$(date +%s.%N)

# --- base/: node, its libraries and busybox. Its own COPY layer, cached while node does not change.
base=$ctx/base
mkdir -p "$base/usr/bin" "$base/bin" "$base/etc" "$base/root" "$base/tmp" "$base/run"
cp "$node" "$base/usr/bin/node"
# Each library under the path the dynamic loader looks for (the name ldd prints, not the symlink's target).
ldd "$node" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  mkdir -p "$base$(dirname "$lib")"
  cp -L "$lib" "$base$lib"
done
cp "$busybox" "$base/bin/busybox"
"$busybox" --list-full | while read -r applet; do
  [[ -e $base/$applet ]] && continue
  mkdir -p "$base/$(dirname "$applet")"
  ln -s /bin/busybox "$base/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$base/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$base/etc/group"
chmod 0700 "$base/root"
# Any --user may create its state directory in /run (and write /tmp), as a tmpfs from --tmpfs would allow.
chmod 1777 "$base/tmp" "$base/run"

# --- app/: the project, as installed under /opt/sysmaster.
app=$ctx/app
opt=$app/opt/sysmaster
mkdir -p "$opt" "$app/etc/sysmaster" "$app/usr/local/bin"
cp -a "$root/bin" "$root/package.json" "$opt/"
tar -C "$root" --exclude=dist/test -cf - dist | tar -C "$opt" -xf -
# Production packages only, straight from the checked-out node_modules (offline). npm ls fails when node_modules
# does not match the lockfile, and then so does the build. Nested paths come right after their parent in C order and
# are copied with it.
mods=$(cd "$root" && npm ls --omit=dev --all --parseable) || die "node_modules does not match package-lock.json: run npm ci"
sed -n "s|^$root/||p" <<<"$mods" | LC_ALL=C sort | awk 'last == "" || index($0, last "/") != 1 { print; last = $0 }' |
  tar -C "$root" -cf - -T - | tar -C "$opt" -xf -
# sql.js ships ~30 MB of alternative builds; the core loads only the package's main file and its wasm.
find "$opt/node_modules/sql.js/dist" -type f ! -name sql-wasm.js ! -name sql-wasm.wasm -delete
cp "$root/containers/system.toml" "$app/etc/sysmaster/system.toml"
# bin/*.js start with `env -S`, which busybox's env lacks: small wrappers instead.
for cli in sctl sysmaster sysmaster-init; do
  flags=$([[ $cli == sctl ]] || echo ' --max-semi-space-size=2')
  printf '#!/bin/sh\nexec /usr/bin/node%s /opt/sysmaster/bin/%s.js "$@"\n' "$flags" "$cli" >"$app/usr/local/bin/$cli"
  chmod 0755 "$app/usr/local/bin/$cli"
done

cp "$root/containers/Dockerfile" "$ctx/Dockerfile"
previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
docker build --quiet --tag "$tag" "$ctx" >/dev/null
# The image this tag named before is left untagged: drop it, unless a container still uses it.
[[ -z $previous || $previous == $(docker image inspect --format '{{.Id}}' "$tag") ]] || docker image rm "$previous" >/dev/null 2>&1 || true
t1=$(date +%s.%N)
size=$(docker image inspect --format '{{.Size}}' "$tag")
awk -v tag="$tag" -v size="$size" -v node="$("$node" --version)" -v t0="$t0" -v t1="$t1" \
  'BEGIN { printf "built %s: %.0f MB (node %s) in %.1f s\n", tag, size / 1e6, node, t1 - t0 }'
