#!/usr/bin/env bash
# Builds the Debian package: bash packaging/build-deb.sh OUTDIR  ->  OUTDIR/vgpuctl_<version>_<arch>.deb
#
# - vgpuctl in release mode with the Swift runtime linked in (--static-swift-stdlib), in its own
#   scratch directory (.build-release, or VGPUCTL_RELEASE_SCRATCH), stripped, in /usr/lib/vgpuctl
#   beside its resource bundle (models, vGPU catalog), linked from /usr/bin;
# - the man page from swift-argument-parser's generate-manual plugin (debug build in .build),
#   completions from the binary's --generate-completion-script: both from the argument parser's
#   own definitions;
# - every unit in contrib/systemd, the udev rule, the libvirt hook, the example host config;
# - Depends from dpkg-shlibdeps on the built binary (libc6, libpci3, libudev1, libmnl0, ...);
# - dpkg-deb --root-owner-group, then lintian: any error fails the build (warnings are printed;
#   README.md, "Install", says which ones stay and why).
# Installs dpkg-dev and lintian when missing (needs root then).
set -euo pipefail
out=${1:?usage: bash packaging/build-deb.sh OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH=/opt/swift/usr/bin:$PATH
scratch=${VGPUCTL_RELEASE_SCRATCH:-$repo/.build-release}

missing=()
for p in dpkg-dev lintian binutils man-db; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-deb: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. The man page: swift-argument-parser's generate-manual plugin builds the package's
#    executables and runs generate-manual on each (it reads their --experimental-dump-help). It
#    builds in debug mode in the default scratch directory, which the tests have already built
#    (same sources, same parser definitions): a second release build here would double the time.
echo "build-deb: generating the man page (generate-manual plugin)" >&2
swift package --disable-sandbox generate-manual --configuration debug --section 8 --authors "vgpuctl maintainers" >&2
manual="$repo/.build/plugins/GenerateManual/outputs/vgpuctl/vgpuctl.8"
[ -s "$manual" ] || { echo "build-deb: the generate-manual plugin did not write $manual" >&2; exit 1; }

# 2. The binary that ships: the same code linked with the static Swift runtime.
echo "build-deb: linking vgpuctl with --static-swift-stdlib" >&2
swift build -c release --static-swift-stdlib --product vgpuctl --scratch-path "$scratch" >&2
bin="$(swift build -c release --static-swift-stdlib --product vgpuctl --scratch-path "$scratch" --show-bin-path)/vgpuctl"
if ldd "$bin" | grep -q 'libswiftCore'; then
    echo "build-deb: $bin still links the Swift runtime dynamically" >&2
    exit 1
fi
version=$("$bin" --version)
arch=$(dpkg --print-architecture)

stage=$(mktemp -d /tmp/vgpuctl-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/vgpuctl
doc=$pkg/usr/share/doc/vgpuctl

# The binary finds its built-in models (the GPUModels resource bundle) and vGPU catalog (the
# VGPUTypes bundle) next to its real path, so they live in /usr/lib/vgpuctl and /usr/bin/vgpuctl
# is a link to it.
install -D -m 0755 "$bin" "$pkg/usr/lib/vgpuctl/vgpuctl"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$pkg/usr/lib/vgpuctl/vgpuctl"
for module in GPUModels VGPUTypes; do
    bundle="$(dirname "$bin")/vgpuctl_$module.resources"
    [ -d "$bundle" ] || { echo "build-deb: the resource bundle $bundle is missing" >&2; exit 1; }
    cp -r "$bundle" "$pkg/usr/lib/vgpuctl/"
    find "$pkg/usr/lib/vgpuctl/vgpuctl_$module.resources" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
done
install -d "$pkg/usr/bin"
ln -s ../lib/vgpuctl/vgpuctl "$pkg/usr/bin/vgpuctl"

install -d "$pkg/usr/share/man/man8"
gzip -9n < "$manual" > "$pkg/usr/share/man/man8/vgpuctl.8.gz"

install -d "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
    "$pkg/usr/share/fish/vendor_completions.d"
# bash-completion sources its files: the generator's '#!/bin/bash' line has no use there.
"$bin" --generate-completion-script bash | sed '1{/^#!/d}' > "$pkg/usr/share/bash-completion/completions/vgpuctl"
"$bin" --generate-completion-script zsh > "$pkg/usr/share/zsh/vendor-completions/_vgpuctl"
"$bin" --generate-completion-script fish > "$pkg/usr/share/fish/vendor_completions.d/vgpuctl.fish"

# Units and hooks call the packaged binary, not a hand-installed /usr/local/bin one.
units=(contrib/systemd/*.service)
[ -e "${units[0]}" ] || { echo "build-deb: no units in contrib/systemd" >&2; exit 1; }
for u in "${units[@]}"; do
    install -D -m 0644 "$u" "$pkg/lib/systemd/system/$(basename "$u")"
    sed -i 's#/usr/local/bin/vgpuctl#/usr/bin/vgpuctl#g' "$pkg/lib/systemd/system/$(basename "$u")"
done
for r in contrib/udev/*.rules; do
    install -D -m 0644 "$r" "$pkg/lib/udev/rules.d/$(basename "$r")"
done
install -D -m 0755 contrib/libvirt/vgpuctl-hook "$pkg/etc/libvirt/hooks/qemu.d/vgpuctl"
sed -i 's#VGPUCTL:-/usr/local/bin/vgpuctl#VGPUCTL:-/usr/bin/vgpuctl#' "$pkg/etc/libvirt/hooks/qemu.d/vgpuctl"
install -D -m 0644 contrib/host.yaml.example "$pkg/etc/vgpuctl/host.yaml.example"

install -d "$doc"
install -m 0644 packaging/copyright "$doc/copyright"
sed "s/@VERSION@/$version/" packaging/changelog | gzip -9n > "$doc/changelog.gz"
install -m 0644 contrib/libvirt/README.md "$doc/README.libvirt.md"
install -D -m 0644 packaging/lintian-overrides "$pkg/usr/share/lintian/overrides/vgpuctl"

# Runtime dependencies as dpkg-shlibdeps finds them in the binary (it wants a debian/control).
mkdir -p "$stage/shlibs/debian"
printf 'Source: vgpuctl\n\nPackage: vgpuctl\nArchitecture: any\n' > "$stage/shlibs/debian/control"
depends=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "$pkg/usr/lib/vgpuctl/vgpuctl" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
for lib in libpci3 libudev1 libmnl0; do
    case ", $depends" in *", $lib "*|*", $lib,"*) ;; *)
        echo "build-deb: dpkg-shlibdeps did not find $lib in the binary's dependencies ($depends)" >&2; exit 1 ;;
    esac
done

install -d "$pkg/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    packaging/control.in > "$pkg/DEBIAN/control"
install -m 0755 packaging/postinst packaging/postrm "$pkg/DEBIAN/"
printf '/etc/libvirt/hooks/qemu.d/vgpuctl\n/etc/vgpuctl/host.yaml.example\n' > "$pkg/DEBIAN/conffiles"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"

deb="$out/vgpuctl_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2

echo "build-deb: lintian $deb" >&2
set +e
lintian --no-tag-display-limit "$deb" > "$stage/lintian.txt" 2>&1
set -e
cat "$stage/lintian.txt" >&2
if grep -q '^E: ' "$stage/lintian.txt"; then
    echo "build-deb: lintian reports errors" >&2
    exit 1
fi
echo "$deb"
