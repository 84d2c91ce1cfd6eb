#!/usr/bin/env bash
# Builds the supervisord comparison image for bench/containers.ts: the example stack (specs/examples/*.mjs) under
# supervisord 4.2 as PID 1, with no registry. On top of a sysmaster image (same node, busybox and libraries as the
# sysmaster side), it adds this machine's Debian python3.11 with its standard library and the libraries ldd lists,
# and Debian's supervisor and python3-pkg-resources packages (fetched with `apt-get download`, kept in a cache).
#
#   containers/supervisord/build.sh TAG [BASE]     BASE defaults to $SYSMASTER_IMAGE, else sysmaster:dev
#
# The image runs `supervisord -n -c /etc/supervisor/webstack.conf` (start order by priority only) unless given
# another config: /etc/supervisor/webstack-wait.conf makes each service wait for what it uses with a shell loop.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${1:?usage: containers/supervisord/build.sh TAG [BASE]}
base_image=${2:-${SYSMASTER_IMAGE:-sysmaster:dev}}
die() { echo "containers/supervisord/build.sh: $*" >&2; exit 1; }

python=/usr/bin/python3.11
[[ -x $python ]] || die "need Debian's python3.11 at $python (apt-get install -y python3)"
docker image inspect "$base_image" >/dev/null 2>&1 || die "no image $base_image: build it with containers/build.sh $base_image"
# Pure-Python packages: the versions Debian builds for its python3, fetched once.
cache=${SUPERVISORD_DEB_CACHE:-/var/tmp/sysmaster-supervisord-debs}
mkdir -p "$cache"
debs=(supervisor python3-pkg-resources)
fetch() { (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "${debs[@]}" >/dev/null); }
if ! compgen -G "$cache/supervisor_*.deb" >/dev/null || ! compgen -G "$cache/python3-pkg-resources_*.deb" >/dev/null; then
  fetch || { apt-get update -qq && fetch; } || die "apt-get download ${debs[*]} failed (no Debian mirror?)"
fi

ctx=$(mktemp -d /tmp/sysmaster-supervisord.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
py=$ctx/python
mkdir -p "$py/usr/bin" "$py/usr/lib"
cp "$python" "$py/usr/bin/python3.11"
ln -s python3.11 "$py/usr/bin/python3"
# The standard library without its tests and the 25 MB static library for embedding. Debian's byte-code caches
# come along, so imports do not compile at each container start.
tar -C /usr/lib --exclude=python3.11/test --exclude='python3.11/config-*' -cf - python3.11 | tar -C "$py/usr/lib" -xf -
# Libraries of the interpreter and of its extension modules, under the path the loader looks for.
ldd "$python" /usr/lib/python3.11/lib-dynload/*.so | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*[^:]$/ { print $1 }' |
  sort -u | while read -r lib; do
    mkdir -p "$py$(dirname "$lib")"
    cp -L "$lib" "$py$lib"
  done
for deb in "$cache"/supervisor_*.deb "$cache"/python3-pkg-resources_*.deb; do dpkg-deb -x "$deb" "$py"; done
rm -rf "$py/etc" "$py/lib/systemd" "$py/usr/share" "$py/usr/lib/python3/dist-packages/supervisor/tests"
# Debian compiles these at install time; do the same (unchecked: the files never change in the image).
"$python" -m compileall -q --invalidation-mode unchecked-hash "$py/usr/lib/python3/dist-packages" >/dev/null

mkdir -p "$ctx/etc/supervisor" "$ctx/examples"
cp "$here"/webstack*.conf "$ctx/etc/supervisor/"
cp "$root"/specs/examples/*.mjs "$ctx/examples/"
cp "$here/Dockerfile" "$ctx/Dockerfile"
previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
# Its output only on failure: the legacy builder warns about itself on every build.
out=$(docker build --quiet --build-arg BASE="$base_image" --tag "$tag" "$ctx" 2>&1) || { echo "$out" >&2; die "docker build failed"; }
# The image this tag named before is left untagged: drop it, unless a container still uses it.
[[ -z $previous || $previous == $(docker image inspect --format '{{.Id}}' "$tag") ]] || docker image rm "$previous" >/dev/null 2>&1 || true
echo "built $tag on $base_image: supervisord $(cd "$py/usr/lib/python3/dist-packages" && "$python" -c 'import supervisor.options as o; print(o.VERSION)'), python $("$python" -c 'import platform; print(platform.python_version())')"
