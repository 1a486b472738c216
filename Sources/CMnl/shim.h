/* Bridge to libmnl. Found through pkg-config `libmnl`; Debian package libmnl-dev.
 *
 * libmnl's iteration and sizing helpers are preprocessor macros (mnl_attr_for_each,
 * MNL_SOCKET_BUFFER_SIZE, MNL_ALIGN, MNL_NLMSG_HDRLEN, ...), which Swift cannot import. This
 * header re-exports them as `static inline` functions and plain constants, prefixed `vgpuctl_`
 * / `VGPUCTL_`. Linux only: on other systems the module is empty. */
#ifndef VGPUCTL_CMNL_SHIM_H
#define VGPUCTL_CMNL_SHIM_H

#ifdef __linux__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

/* The netlink wire structs have a fixed ABI; Swift code that walks raw buffers relies on it. */
_Static_assert(sizeof(struct nlmsghdr) == 16, "struct nlmsghdr is 16 bytes on the wire");
_Static_assert(sizeof(struct nlattr) == 4, "struct nlattr is 4 bytes on the wire");
_Static_assert(sizeof(struct sockaddr_nl) == 12, "struct sockaddr_nl is 12 bytes");
_Static_assert(NETLINK_KOBJECT_UEVENT == 15, "NETLINK_KOBJECT_UEVENT is protocol 15");

/* Multicast groups of the NETLINK_KOBJECT_UEVENT family.
 * Group 1 carries the kernel's own uevents (`ACTION@DEVPATH\0KEY=VALUE\0...`); group 2 carries
 * udevd's re-broadcast after rule processing (binary header starting with "libudev"). */
enum {
    VGPUCTL_UEVENT_GROUP_KERNEL = 1,
    VGPUCTL_UEVENT_GROUP_UDEV = 2,
};

/* Largest uevent the kernel builds: its environment buffer (UEVENT_BUFFER_SIZE in
 * include/linux/kobject.h) plus the `ACTION@DEVPATH` header, which is bounded by PATH_MAX. */
enum {
    VGPUCTL_UEVENT_BUFFER_SIZE = 2048,
    VGPUCTL_UEVENT_MAX_MESSAGE = 2048 + 4096 + 64,
};

/* MNL_SOCKET_BUFFER_SIZE: min(page size, 8192), the receive buffer libmnl recommends. */
static inline size_t vgpuctl_mnl_socket_buffer_size(void) {
    return (size_t)MNL_SOCKET_BUFFER_SIZE;
}

/* MNL_ALIGN(len): `len` rounded up to netlink's 4-byte alignment. */
static inline size_t vgpuctl_mnl_align(size_t len) {
    return MNL_ALIGN(len);
}

/* MNL_NLMSG_HDRLEN: the aligned size of struct nlmsghdr. */
static inline size_t vgpuctl_mnl_nlmsg_hdrlen(void) {
    return MNL_NLMSG_HDRLEN;
}

/* MNL_ATTR_HDRLEN: the aligned size of struct nlattr. */
static inline size_t vgpuctl_mnl_attr_hdrlen(void) {
    return MNL_ATTR_HDRLEN;
}

/* mnl_attr_for_each(attr, nlh, offset), split into first / ok / next (next is mnl_attr_next):
 *
 *   for (a = vgpuctl_mnl_attr_first(nlh, off); vgpuctl_mnl_attr_ok_in_msg(a, nlh);
 *        a = mnl_attr_next(a)) ...
 */
static inline const struct nlattr *vgpuctl_mnl_attr_first(const struct nlmsghdr *nlh,
                                                          size_t offset) {
    return (const struct nlattr *)mnl_nlmsg_get_payload_offset(nlh, offset);
}

static inline bool vgpuctl_mnl_attr_ok_in_msg(const struct nlattr *attr,
                                              const struct nlmsghdr *nlh) {
    return mnl_attr_ok(attr, (int)((const char *)mnl_nlmsg_get_payload_tail(nlh) -
                                   (const char *)attr));
}

/* mnl_attr_for_each_nested(attr, nest), split the same way. */
static inline const struct nlattr *vgpuctl_mnl_attr_nested_first(const struct nlattr *nest) {
    return (const struct nlattr *)mnl_attr_get_payload(nest);
}

static inline bool vgpuctl_mnl_attr_ok_in_nest(const struct nlattr *attr,
                                               const struct nlattr *nest) {
    return mnl_attr_ok(attr, (int)((const char *)mnl_attr_get_payload(nest) +
                                   mnl_attr_get_payload_len(nest) - (const char *)attr));
}

#endif /* __linux__ */

#endif /* VGPUCTL_CMNL_SHIM_H */
