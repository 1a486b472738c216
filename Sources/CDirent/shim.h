/* Bridge to getdents64(2), which glibc declares only under _GNU_SOURCE and which Swift cannot
 * reach through the variadic syscall(2). HostKit reads a directory with it straight from an
 * open file descriptor: opendir(3) would add an fstat(2) per directory, and the inventory opens
 * one or three directories per PCI function (issue #20). Nothing to link. */
#ifndef VGPUCTL_CDIRENT_SHIM_H
#define VGPUCTL_CDIRENT_SHIM_H
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>

/* struct linux_dirent64 (include/linux/dirent.h): d_ino u64 at 0, d_off s64 at 8, d_reclen u16
 * at 16, d_type u8 at 18, d_name NUL-terminated at 19. */
enum {
    VGPUCTL_DIRENT_RECLEN = 16,
    VGPUCTL_DIRENT_TYPE = 18,
    VGPUCTL_DIRENT_NAME = 19,
};

static inline long vgpuctl_getdents64(int fd, void *buf, unsigned long size) {
    return syscall(SYS_getdents64, fd, buf, size);
}
#endif
#endif
