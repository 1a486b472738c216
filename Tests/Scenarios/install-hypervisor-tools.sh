#!/bin/bash
# Installs what the Hypervisor tests run for real, when missing (Debian; needs root):
#   qemu-system-x86 : QEMU 7.2 (capability detection, QMP hotplug, argument checks)
#   libvirt-clients : virt-xml-validate and libvirt's domain schemas
#   libxml2-utils   : xmllint, which virt-xml-validate runs
# Idempotent and quiet when everything is there; apt-get update only when something is missing.
set -euo pipefail
pkgs=(qemu-system-x86 libvirt-clients libxml2-utils)
missing=()
for p in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "the Hypervisor tests need: ${missing[*]} (as root: apt-get install -y --no-install-recommends ${missing[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
exec 9>/var/lock/vgpuctl-hypervisor-tools.lock
flock 9
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
