#!/usr/bin/env bash
# Makes an OCI runtime bundle (DIR/rootfs + DIR/config.json) from a Docker image, for runc, crun or iSulad's runtime.
# The image's ENTRYPOINT, CMD, Env and WorkingDir become the process; ARGS, when given, replace CMD (sysmaster-init's
# options, then `-- CMD ARGS...`). See docs/containers.md.
#
#   containers/oci/bundle.sh DIR [IMAGE [ARGS...]]      IMAGE defaults to $SYSMASTER_IMAGE, else sysmaster:dev
#   runc run --bundle DIR NAME
#
# The root filesystem is read-only, with tmpfs mounts at /run (the state directory) and /tmp, as on
# `docker run --read-only --tmpfs /run --tmpfs /tmp`. Needs docker (to read the image), runc (for `runc spec`), node.
set -euo pipefail
die() { echo "containers/oci/bundle.sh: $*" >&2; exit 1; }
(($# >= 1)) || die "usage: bundle.sh DIR [IMAGE [ARGS...]]"
dir=$1
image=${2:-${SYSMASTER_IMAGE:-sysmaster:dev}}
shift $(($# >= 2 ? 2 : 1))
for cmd in docker runc node; do command -v "$cmd" >/dev/null || die "needs $cmd on PATH"; done
[[ ! -e $dir/rootfs ]] || die "$dir/rootfs exists already"

mkdir -p "$dir/rootfs"
dir=$(cd "$dir" && pwd)
config=$(docker image inspect --format '{{json .Config}}' "$image") || die "no image $image (npm run image builds sysmaster:dev)"
ctr=$(docker create --label org.sysmaster.bundle "$image")
trap 'docker rm -f "$ctr" >/dev/null' EXIT
docker export "$ctr" | tar -C "$dir/rootfs" -xf -
# Docker's marker: without it, init knows it is in a container by being PID 1 of its own PID namespace.
rm -f "$dir/rootfs/.dockerenv"

(cd "$dir" && rm -f config.json && runc spec)
CONFIG=$config node - "$dir/config.json" "$@" <<'EOF'
const fs = require('node:fs');
const [file, ...args] = process.argv.slice(2);
const image = JSON.parse(process.env.CONFIG);
const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
Object.assign(spec.process, {
  terminal: false,
  args: [...(image.Entrypoint ?? []), ...(args.length ? args : (image.Cmd ?? []))],
  env: image.Env ?? spec.process.env,
  cwd: image.WorkingDir || '/',
});
spec.hostname = 'sysmaster';
for (const at of ['/run', '/tmp'])
  spec.mounts.push({ destination: at, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
fs.writeFileSync(file, JSON.stringify(spec, null, 2) + '\n');
EOF
echo "bundle in $dir: runc run --bundle $dir NAME"
