/* ioctl(2) wrapper for FWCTL_INFO and FWCTL_RPC; the layout assertions live in the header. */
#include "CControlChannel.h"

#include <errno.h>

#ifdef __linux__
#include <sys/ioctl.h>
#ifdef _IO
_Static_assert(_IO(VGPUCTL_FWCTL_TYPE, VGPUCTL_FWCTL_CMD_INFO) == VGPUCTL_FWCTL_INFO, "_IO(0x9A, 0) from <sys/ioctl.h> agrees");
_Static_assert(_IO(VGPUCTL_FWCTL_TYPE, VGPUCTL_FWCTL_CMD_RPC) == VGPUCTL_FWCTL_RPC, "_IO(0x9A, 1) from <sys/ioctl.h> agrees");
#endif

int vgpuctl_fwctl_ioctl(int fd, unsigned int request, void *arg) {
    return ioctl(fd, (unsigned long)request, arg) == 0 ? 0 : errno;
}
#else
int vgpuctl_fwctl_ioctl(int fd, unsigned int request, void *arg) {
    (void)fd; (void)request; (void)arg;
    return ENOSYS;
}
#endif
