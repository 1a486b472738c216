# guest-lib.sh - helpers for guest scripts run by run-guest.sh.
# Source it from a guest script:   . /abs/path/Tests/RealKernel/guest-lib.sh
# POSIX sh; uses perl (perl-base) to report exact errno values of sysfs writes.

# sysw FILE VALUE [nl]
#   One write(2) of VALUE (plus "\n" if the third argument is "nl") to FILE.
#   Prints one line:
#     write 'VALUE' > FILE: OK (N bytes)
#     write 'VALUE' > FILE: ERR errno=34 ERANGE (Numerical result out of range)
#     write 'VALUE' > FILE: OPEN-ERR errno=2 ENOENT (No such file or directory)
#   Returns 0 on success, 1 on a write error, 2 on an open error.
sysw() {
    perl -e '
        use strict;
        my ($f, $v, $nl) = @ARGV;
        $v = "" unless defined $v;
        my $data = $v . ((defined $nl && $nl eq "nl") ? "\n" : "");
        (my $show = $data) =~ s/\n/\\n/g;
        # Linux x86-64 errno names (a table: loading Errno.pm over 9p is slow).
        my @names = qw(0 EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF
            ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY EEXIST EXDEV ENODEV
            ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE
            EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY
            ELOOP);
        sub ename { my $e = shift; return ($e > 0 && $e < @names) ? $names[$e] : ($e == 95 ? "EOPNOTSUPP" : $e == 110 ? "ETIMEDOUT" : $e == 524 ? "ENOTSUPP" : "E$e"); }
        my $fh;
        unless (open($fh, ">", $f)) {
            my $e = $! + 0;
            printf "write %s > %s: OPEN-ERR errno=%d %s (%s)\n", "\x27$show\x27", $f, $e, ename($e), "$!";
            exit 2;
        }
        my $n = syswrite($fh, $data);
        if (!defined $n) {
            my $e = $! + 0;
            printf "write %s > %s: ERR errno=%d %s (%s)\n", "\x27$show\x27", $f, $e, ename($e), "$!";
            close($fh);
            exit 1;
        }
        if (!close($fh)) {
            my $e = $! + 0;
            printf "write %s > %s: OK (%d bytes) but close ERR errno=%d %s (%s)\n", "\x27$show\x27", $f, $n, $e, ename($e), "$!";
            exit 1;
        }
        printf "write %s > %s: OK (%d bytes)\n", "\x27$show\x27", $f, $n;
        exit 0;
    ' "$@"
}

# sysr FILE - print FILE's content exactly, newlines shown as \n,
# or the read error.
sysr() {
    perl -e '
        my $f = shift;
        my $fh;
        unless (open($fh, "<", $f)) { printf "read %s: OPEN-ERR %s\n", $f, "$!"; exit 2; }
        my $d = ""; my $buf;
        while (1) {
            my $n = sysread($fh, $buf, 65536);
            if (!defined $n) { printf "read %s: ERR %s\n", $f, "$!"; exit 1; }
            last if $n == 0;
            $d .= $buf;
        }
        (my $show = $d) =~ s/\n/\\n/g;
        printf "read %s: \x27%s\x27\n", $f, $show;
    ' "$1"
}

# val FILE - content of FILE without the trailing newline (empty on error)
val() { cat "$1" 2>/dev/null; }

# link_name PATH - basename of the symlink target (empty if not a link)
link_name() { [ -L "$1" ] && basename "$(readlink "$1")"; }

# find_nvme_pf - BDF of the emulated NVMe PF (class 0x010802, 1b36:0010,
# with SR-IOV capability)
find_nvme_pf() {
    for d in /sys/bus/pci/devices/*; do
        [ "$(val "$d/class")" = 0x010802 ] || continue
        [ "$(val "$d/vendor")" = 0x1b36 ] || continue
        [ "$(val "$d/device")" = 0x0010 ] || continue
        [ -e "$d/sriov_totalvfs" ] || continue
        basename "$d"
        return 0
    done
    return 1
}

# has TEXT NEEDLE - true if TEXT contains NEEDLE
has() {
    case "$1" in
        *"$2"*) return 0 ;;
    esac
    return 1
}

# Counters for simple assertions.
VG_FAILS=0
# check DESCRIPTION COMMAND... - run COMMAND, print PASS/FAIL line
check() {
    desc=$1; shift
    if "$@"; then
        echo "PASS: $desc"
    else
        echo "FAIL: $desc"
        VG_FAILS=$((VG_FAILS + 1))
    fi
}

# vfio_hold GROUP BDF SECONDS MODE [RELEASE_FILE]
#   Opens /dev/vfio/GROUP through the legacy container API and keeps it open
#   for SECONDS, or until RELEASE_FILE exists (touch it to release early).
#   MODE "status" only prints VFIO_GROUP_GET_STATUS and exits;
#   "group" holds the group fd; "device" also attaches a type1v2 container and
#   holds a device fd for BDF (what QEMU does). Prints what each ioctl did.
vfio_hold() {
    perl -e '
        use strict;
        my ($group, $bdf, $secs, $mode, $release) = @ARGV;
        $| = 1;
        my %IOC = (API => 0x3B64, EXT => 0x3B65, SET_IOMMU => 0x3B66,
                   STATUS => 0x3B67, SET_CONTAINER => 0x3B68, DEVICE_FD => 0x3B6A);
        my $g;
        unless (open($g, "+<", "/dev/vfio/$group")) {
            printf "vfio_hold: open /dev/vfio/%s: %s (errno=%d)\n", $group, "$!", $! + 0; exit 2;
        }
        my $st = pack("LL", 8, 0);
        if (ioctl($g, $IOC{STATUS}, $st)) {
            my ($sz, $flags) = unpack("LL", $st);
            printf "vfio_hold: group %s status flags=0x%x viable=%d container_set=%d\n",
                $group, $flags, $flags & 1 ? 1 : 0, $flags & 2 ? 1 : 0;
        } else {
            printf "vfio_hold: GROUP_GET_STATUS failed: %s\n", "$!";
        }
        exit 0 if $mode eq "status";
        if ($mode eq "device") {
            my $c;
            open($c, "+<", "/dev/vfio/vfio") or do { print "vfio_hold: open /dev/vfio/vfio: $!\n"; exit 2 };
            my $api = ioctl($c, $IOC{API}, 0);
            printf "vfio_hold: VFIO_GET_API_VERSION=%s\n", defined $api ? ($api eq "0 but true" ? 0 : $api) : "ERR $!";
            my $ext = ioctl($c, $IOC{EXT}, 3);
            printf "vfio_hold: CHECK_EXTENSION(TYPE1v2)=%s\n", defined $ext ? ($ext eq "0 but true" ? 0 : $ext) : "ERR $!";
            my $cfd = pack("i", fileno($c));
            ioctl($g, $IOC{SET_CONTAINER}, $cfd) or do { print "vfio_hold: GROUP_SET_CONTAINER: $!\n"; exit 2 };
            ioctl($c, $IOC{SET_IOMMU}, 3) or do { print "vfio_hold: SET_IOMMU: $!\n"; exit 2 };
            my $name = $bdf . "\0";
            my $fd = ioctl($g, $IOC{DEVICE_FD}, $name);
            if (!defined $fd) { printf "vfio_hold: GROUP_GET_DEVICE_FD(%s): %s (errno=%d)\n", $bdf, "$!", $! + 0; exit 2; }
            $fd = 0 if $fd eq "0 but true";
            printf "vfio_hold: holding device fd %d for %s\n", $fd, $bdf;
        } else {
            print "vfio_hold: holding group fd\n";
        }
        my $end = time() + $secs;
        while (time() < $end) {
            last if defined $release && length $release && -e $release;
            select(undef, undef, undef, 0.2);
        }
        print "vfio_hold: releasing\n";
        exit 0;
    ' "$@"
}
