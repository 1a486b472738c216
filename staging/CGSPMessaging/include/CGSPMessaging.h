/* C mirrors of GSP-RM shared-memory structures, with _Static_assert on sizes and offsets. */
#ifndef VGPUCTL_CGSPMESSAGING_H
#define VGPUCTL_CGSPMESSAGING_H
#include <stdint.h>
#endif
