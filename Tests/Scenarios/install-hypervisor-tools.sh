#!/bin/bash
# Installs what the Hypervisor tests run for real, when missing (Debian; needs root):
#   qemu-system-x86 : QEMU 7.2 (capability detection, QMP hotplug, argument checks)
#   libvirt-clients : virt-xml-validate and libvirt's domain schemas
#   libxml2-utils   : xmllint, which virt-xml-validate runs
#   python3         : the fake QMP peers and the end-to-end scenario scripts
# Idempotent and quiet when everything is there; apt-get update only when something is missing.
set -euo pipefail
pkgs=(qemu-system-x86 libvirt-clients libxml2-utils python3)
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
# One apt at a time among the repo's installers (the same lock file), and wait for any other
# apt holder for up to 10 minutes.
mkdir -p /var/lock
exec 9>/var/lock/vgpuctl-apt.lock
flock -w 600 9
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
