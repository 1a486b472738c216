#!/usr/bin/env bash
# Installs the Debian packages vgpuctl builds and tests with, when any is missing (needs root).
#   libpci-dev libudev-dev libmnl-dev pkg-config : the C libraries vgpuctl links
#   pciutils                                      : the real lspci the tests compare against
#   python3                                       : the fake QMP peers and scenario scripts tests run
# Another installer may hold the apt lock: wait for it (up to 10 minutes), and serialise with
# the repo's other installers through one flock.
set -euo pipefail
pkgs=(libpci-dev libudev-dev libmnl-dev pkg-config pciutils python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "vgpuctl needs these Debian packages: ${missing[*]} (run as root: apt-get install -y ${missing[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    mkdir -p /var/lock
    exec 9>/var/lock/vgpuctl-apt.lock
    flock -w 600 9
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
