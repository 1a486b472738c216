/*
 * C mirror of the EGM retired-pages UAPI (include/uapi/linux/egm.h of the nvgrace-egm RFC
 * series, "[PATCH RFC v2 00/15] Add virtualization support for EGM", not merged), with
 * _Static_assert on every size, offset and number Swift relies on, and the one ioctl call
 * Swift cannot make itself (ioctl(2) is variadic).
 *
 * The header is not in any released kernel, so the layout is written here from the RFC
 * (kernel-abi.md §3); the kernel's names are kept so they can be grepped for. Earlier
 * revisions spelled it egm_bad_pages_* / EGM_BAD_PAGES_LIST with the same layout and number.
 * Linux only: elsewhere the call returns ENOSYS.
 */
#ifndef VGPUCTL_CEGM_H
#define VGPUCTL_CEGM_H

#include <stddef.h>
#include <stdint.h>

/** One retired page: its offset from the start of the EGM region and its size (a page). */
struct egm_retired_pages_info {
    uint64_t offset;
    uint64_t size;
} __attribute__((aligned(8)));

/** The ioctl argument: `argsz` (in: the buffer size; out: the size needed when too small),
 *  `count` (out: entries filled, 0 when the buffer was too small), then the entries. */
struct egm_retired_pages_list {
    uint32_t argsz;
    uint32_t count;
    struct egm_retired_pages_info retired_pages[];
};

_Static_assert(sizeof(struct egm_retired_pages_info) == 16, "egm_retired_pages_info is two __aligned_u64");
_Static_assert(offsetof(struct egm_retired_pages_info, size) == 8, "egm_retired_pages_info.size offset");
_Static_assert(sizeof(struct egm_retired_pages_list) == 8, "egm_retired_pages_list header is argsz + count");
_Static_assert(offsetof(struct egm_retired_pages_list, count) == 4, "egm_retired_pages_list.count offset");
_Static_assert(offsetof(struct egm_retired_pages_list, retired_pages) == 8, "entries follow the 8-byte header");

/** EGM_TYPE ('E') and EGM_RETIRED_PAGES_LIST = _IO(EGM_TYPE, 100). */
enum {
    VGPUCTL_EGM_TYPE = 'E',
    VGPUCTL_EGM_RETIRED_PAGES_LIST = ('E' << 8) | 100,
};
_Static_assert(VGPUCTL_EGM_RETIRED_PAGES_LIST == 0x4564, "_IO('E', 100) is 0x4564 (no size, no direction bits)");

/** Issues EGM_RETIRED_PAGES_LIST on `fd` with `arg` (a struct egm_retired_pages_list whose
 *  `argsz` the caller set). Returns 0, or the errno of ioctl(2). */
int vgpuctl_egm_retired_pages_list(int fd, void *arg);

#endif
