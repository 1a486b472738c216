#!/usr/bin/env bash
# Installs the Debian packages vgpuctl builds and tests with, when any is missing (needs root).
#   libpci-dev libudev-dev libmnl-dev pkg-config : the C libraries vgpuctl links
#   pciutils                                      : the real lspci the tests compare against
set -euo pipefail
pkgs=(libpci-dev libudev-dev libmnl-dev pkg-config pciutils)
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
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
