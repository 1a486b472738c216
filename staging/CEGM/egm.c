/* ioctl(2) wrapper for EGM_RETIRED_PAGES_LIST; the layout assertions live in the header. */
#include "CEGM.h"

#include <errno.h>

#ifdef __linux__
#include <sys/ioctl.h>
#ifdef _IO
_Static_assert(_IO('E', 100) == VGPUCTL_EGM_RETIRED_PAGES_LIST, "_IO('E', 100) from <sys/ioctl.h> agrees");
#endif

int vgpuctl_egm_retired_pages_list(int fd, void *arg) {
    return ioctl(fd, (unsigned long)VGPUCTL_EGM_RETIRED_PAGES_LIST, arg) == 0 ? 0 : errno;
}
#else
int vgpuctl_egm_retired_pages_list(int fd, void *arg) {
    (void)fd; (void)arg;
    return ENOSYS;
}
#endif
