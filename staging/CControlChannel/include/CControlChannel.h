/* C mirrors of the fwctl UAPI (include/uapi/fwctl/fwctl.h) with _Static_assert on sizes. */
#ifndef VGPUCTL_CCONTROLCHANNEL_H
#define VGPUCTL_CCONTROLCHANNEL_H
#include <stdint.h>
#endif
