#!/usr/bin/env bash
# The package test: builds the Debian package (packaging/build-deb.sh, which fails on lintian
# errors), installs it with apt into a clean Debian 12 root made by debootstrap (a chroot, no
# systemd running), and checks there what an operator would:
#   vgpuctl --version; vgpuctl --root <simulated host> list; plan on the shipped example config;
#   man -w vgpuctl; bash completion of 'vgpuctl vf cr<TAB>'; systemd-analyze verify on every
#   installed unit; udevadm verify on the udev rule (bookworm's udev 252 has no 'verify', it came
#   in systemd 254: the test says so and verifies with udevadm from bookworm-backports, installed
#   inside the chroot only).
# The minbase root is cached (tarball) in VGPUCTL_TEST_CACHE (default /var/cache/vgpuctl-tests);
# a failed download fails the test. Needs root. VGPUCTL_DEB=path skips the build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VGPUCTL_TEST_CACHE:-/var/cache/vgpuctl-tests}/debootstrap
# Debian's registry as this machine's apt sources name it (one-line or deb822 format).
mirror=${VGPUCTL_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | sed -n 's#^deb \(https\?://[^ ]*\) bookworm main.*#\1#p' | head -1 || true)
fi
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's#^URIs: *\(https\?://[^ ]*\).*#\1#p' | head -1 || true)
fi
[ -n "$mirror" ] || { echo "package test: cannot find Debian's registry in the apt sources (set VGPUCTL_DEBIAN_MIRROR)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "package test: needs root (debootstrap, chroot)" >&2; exit 1; }

fail() { echo "package test: FAIL: $*" >&2; exit 1; }
step() { echo "package test: $*" >&2; }

if ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
fi

work=$(mktemp -d /tmp/vgpuctl-pkgtest.XXXXXX)
chroot_dir=$work/root
mounted=()
cleanup() {
    for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The package.
if [ -n "${VGPUCTL_DEB:-}" ]; then
    deb=$VGPUCTL_DEB
else
    step "building the package"
    deb=$(bash "$repo/packaging/build-deb.sh" "$work/out" | tail -1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"
version=$(dpkg-deb -f "$deb" Version)

# 2. A clean Debian 12 root: debootstrap --variant=minbase once, then a cached tarball of it.
mkdir -p "$cache"
tarball=$cache/bookworm-minbase.tar.gz
if [ ! -s "$tarball" ]; then
    step "debootstrap bookworm (minbase) from $mirror"
    rm -rf "$cache/build"
    debootstrap --variant=minbase bookworm "$cache/build" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -20 "$cache/debootstrap.log" >&2; fail "debootstrap from $mirror failed (log: $cache/debootstrap.log)"; }
    rm -rf "$cache/build/var/cache/apt/archives/"*.deb
    tar -C "$cache/build" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$cache/build"
fi
step "unpacking the cached root $tarball"
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" -xzf "$tarball"
grep -q '^VERSION_ID="12"' "$chroot_dir/etc/os-release" || fail "the cached root is not Debian 12"
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
echo "deb $mirror bookworm main" > "$chroot_dir/etc/apt/sources.list"
mkdir -p "$cache/archives/partial" "$chroot_dir/var/cache/apt/archives"
for m in proc sys dev; do mount --bind "/$m" "$chroot_dir/$m"; mounted+=("$chroot_dir/$m"); done
mount --bind "$cache/archives" "$chroot_dir/var/cache/apt/archives"; mounted+=("$chroot_dir/var/cache/apt/archives")
in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
in_root dpkg -s systemd >/dev/null 2>&1 && fail "the clean root already has systemd: not minbase"

# 3. Install with apt, which resolves the declared dependencies from the registry, plus the
#    tools the checks need (systemd for systemd-analyze, man-db, bash-completion).
step "apt install ./$(basename "$deb") in the chroot"
cp "$deb" "$chroot_dir/tmp/"
in_root apt-get update -qq || fail "apt-get update in the chroot failed"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "/tmp/$(basename "$deb")" systemd udev man-db bash-completion >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; fail "apt install of the package failed"; }
for dep in libpci3 libudev1 libmnl0; do
    in_root dpkg -s "$dep" >/dev/null 2>&1 || fail "$dep was not installed as a dependency"
done

# 4. The checks.
got=$(in_root vgpuctl --version) || fail "vgpuctl --version failed"
[ "$got" = "$version" ] || fail "vgpuctl --version says '$got', the package is $version"
step "ok: vgpuctl --version = $got"
in_root ldd /usr/lib/vgpuctl/vgpuctl | grep -q libswiftCore && fail "the installed binary needs the Swift runtime"

in_root vgpuctl sim create /tmp/sim --model gh200x4 >/dev/null || fail "vgpuctl sim create failed"
listed=$(in_root vgpuctl --root /tmp/sim list) || fail "vgpuctl --root /tmp/sim list failed"
echo "$listed" | grep -q '0009:01:00.0' || fail "list shows no GH200 at 0009:01:00.0: $listed"
step "ok: vgpuctl --root <simulated gh200x4> list"
in_root vgpuctl --root /tmp/sim plan -f /etc/vgpuctl/host.yaml.example >/dev/null \
    || fail "plan on the shipped example config failed"
in_root vgpuctl sim create /tmp/sim-h100 --model h100x8 --vgpu-interface vendor >/dev/null || fail "sim create h100x8 failed"
plan=$(in_root vgpuctl --root /tmp/sim-h100 plan -f /etc/vgpuctl/host.yaml.example) || fail "plan (h100x8) failed"
echo "$plan" | grep -q 'H100XM-20C' || fail "the example config's plan on h100x8 does not create H100XM-20C VFs: $plan"
step "ok: vgpuctl plan -f /etc/vgpuctl/host.yaml.example"

page=$(in_root man -w vgpuctl) || fail "man -w vgpuctl found no page"
[ "$page" = /usr/share/man/man8/vgpuctl.8.gz ] || fail "man -w vgpuctl: $page"
in_root sh -c 'man -P cat vgpuctl 2>/dev/null' | grep -q 'vf' || fail "the man page does not render or lacks the vf command"
step "ok: man -w vgpuctl = $page"

completion=$(in_root bash -c '
    source /usr/share/bash-completion/bash_completion
    _completion_loader vgpuctl
    COMP_WORDS=(vgpuctl vf cr); COMP_CWORD=2; COMP_LINE="vgpuctl vf cr"; COMP_POINT=${#COMP_LINE}
    complete -p vgpuctl >/dev/null || exit 3
    fn=$(complete -p vgpuctl | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    "$fn" vgpuctl cr vf
    printf "%s\n" "${COMPREPLY[@]}"') || fail "bash completion did not load for vgpuctl"
[ "$completion" = create ] || fail "bash completion of 'vgpuctl vf cr<TAB>' gave '$completion', not 'create'"
step "ok: vgpuctl vf cr<TAB> -> $completion"

pkg_units=$(dpkg-deb -c "$deb" | sed -n 's#.*\./lib/systemd/system/\([^/]*\.service\)$#\1#p')
[ -n "$pkg_units" ] || fail "the package has no systemd units"
for u in $pkg_units; do
    out=$(in_root systemd-analyze verify "/lib/systemd/system/$u" 2>&1) || fail "systemd-analyze verify $u: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $u warns: $out"
    step "ok: systemd-analyze verify $u (systemd $(in_root dpkg-query -W -f='${Version}' systemd))"
done

rules=$(dpkg-deb -c "$deb" | sed -n 's#.*\./lib/udev/rules.d/\([^/]*\.rules\)$#\1#p')
[ -n "$rules" ] || fail "the package has no udev rule"
udev_version=$(in_root dpkg-query -W -f='${Version}' udev)
if in_root udevadm verify --help >/dev/null 2>&1; then
    fail "udev $udev_version in bookworm has 'udevadm verify': update this test"
fi
step "udev $udev_version (bookworm) has no 'udevadm verify' (it came in systemd 254): using bookworm-backports' udev"
echo "deb $mirror bookworm-backports main" > "$chroot_dir/etc/apt/sources.list.d/backports.list"
in_root apt-get update -qq || fail "apt-get update (bookworm-backports) failed"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports udev \
    >"$work/apt-bpo.log" 2>&1 || { tail -20 "$work/apt-bpo.log" >&2; fail "installing udev from bookworm-backports failed"; }
udev_version=$(in_root dpkg-query -W -f='${Version}' udev)
for r in $rules; do
    out=$(in_root udevadm verify "/lib/udev/rules.d/$r" 2>&1) || fail "udevadm verify $r (udev $udev_version): $out"
    step "ok: udevadm verify $r (udev $udev_version): $out"
done
# The broken rule must fail: the check can tell.
printf 'ACTION=="bind", SUBSYSTEM="pci", RUN+="/bin/true"\n' > "$chroot_dir/tmp/broken.rules"
in_root udevadm verify /tmp/broken.rules >/dev/null 2>&1 && fail "udevadm verify accepted a broken rule"
step "all checks passed for $(basename "$deb")"
