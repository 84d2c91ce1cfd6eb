#!/usr/bin/env bash
# Fetches Debian packages that ship systemd units and unpacks them, without installing anything, for
# test/specs/convert-debian.test.ts; test/integration/sd-notify.test.ts names its own (systemd's systemd-notify).
# Usage: test/specs/debian-units.sh [DIR [PACKAGE...]]
# DIR (default $SYSMASTER_DEBIAN_UNITS, else /tmp/sysmaster-debian-units) gets debs/ (the .deb files, kept as a cache)
# and root/ (their files, as dpkg-deb -x lays them out). root/.packages lists the packages once all are unpacked.
# Exit 0 when every package is unpacked; otherwise non-zero, with apt's message on stderr.
set -euo pipefail
dir=${1:-${SYSMASTER_DEBIAN_UNITS:-/tmp/sysmaster-debian-units}}
pkgs=("${@:2}")
# By default: services, sockets (openssh-server, cups-daemon), timers (logrotate, man-db, apt), a path unit
# (cups-daemon), mounts and a masked unit (nfs-common)
((${#pkgs[@]})) || pkgs=(openssh-server cron rsyslog nginx-common dbus logrotate man-db apt cups-daemon nfs-common)

mkdir -p "$dir/debs"
cd "$dir/debs"
missing=()
for p in "${pkgs[@]}"; do compgen -G "${p}_*.deb" >/dev/null || missing+=("$p"); done
if ((${#missing[@]})); then
  # apt-get download needs no root; as root it warns that the _apt sandbox cannot write here, which is harmless
  if ! apt-get download "${missing[@]}" 2> >(grep -v '^W: Download is performed unsandboxed' >&2); then
    # a fresh machine may have no package lists yet: only root can fetch them
    [[ $(id -u) == 0 ]] || exit 1
    apt-get update -qq
    apt-get download "${missing[@]}" 2> >(grep -v '^W: Download is performed unsandboxed' >&2)
  fi
fi
# Test files run in parallel and call this for the same DIR: a complete root/ is never touched again, and a new one
# is unpacked beside it and moved into place whole, so no reader sees it half made.
want=$(printf '%s\n' "${pkgs[@]}")
[[ -f $dir/root/.packages && $(<"$dir/root/.packages") == "$want" ]] && exit 0
tmp=$(mktemp -d "$dir/root.XXXXXX")
chmod 755 "$tmp" # mktemp makes it 0700; services run as other users use what is in it
for p in "${pkgs[@]}"; do dpkg-deb -x "$(compgen -G "${p}_*.deb" | head -1)" "$tmp"; done
printf '%s\n' "${pkgs[@]}" >"$tmp/.packages"
if [[ -f $dir/root/.packages && $(<"$dir/root/.packages") == "$want" ]]; then
  rm -rf "$tmp"
else
  rm -rf "$dir/root"
  mv -T "$tmp" "$dir/root" 2>/dev/null || rm -rf "$tmp"
fi
