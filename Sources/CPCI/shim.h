/* Bridge to libpci (pciutils). Found through pkg-config `libpci`; Debian package libpci-dev.
 *
 * pci_lookup_name() is variadic and libpci's error/warning callbacks are variadic function
 * pointers; Swift can call neither, so these small inline helpers wrap them. */
#ifndef VGPUCTL_CPCI_SHIM_H
#define VGPUCTL_CPCI_SHIM_H
#ifdef __linux__
#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(u16) == 2, "libpci u16");
_Static_assert(sizeof(u32) == 4, "libpci u32");

/* Fatal libpci errors (it calls a->error and does not expect it to return): one clear line on
 * stderr and exit status 1, as vgpuctl's own failures do. Callers validate paths first so this
 * is only reached on a host whose sysfs is broken. */
static void vgpuctl_pci_error(char *msg, ...) {
    va_list ap;
    va_start(ap, msg);
    fputs("vgpuctl: error: libpci: ", stderr);
    vfprintf(stderr, msg, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* libpci warnings (an unreadable optional sysfs file) are not errors for vgpuctl. */
static void vgpuctl_pci_quiet(char *msg, ...) { (void)msg; }

/* Allocates a pci_access that reads the Linux sysfs tree at `sysfs_path` (e.g.
 * "/sys/bus/pci" or "<root>/sys/bus/pci") and never exits on warnings. */
static inline struct pci_access *vgpuctl_pci_alloc(const char *sysfs_path) {
    struct pci_access *a = pci_alloc();
    if (!a) return NULL;
    a->error = vgpuctl_pci_error;
    a->warning = vgpuctl_pci_quiet;
    a->debug = vgpuctl_pci_quiet;
    a->method = PCI_ACCESS_SYS_BUS_PCI;
    pci_set_param(a, "sysfs.path", (char *)sysfs_path);
    return a;
}

/* pci_lookup_name(PCI_LOOKUP_VENDOR): NULL when the id database has no name. */
static inline char *vgpuctl_pci_vendor_name(struct pci_access *a, char *buf, int size, u16 vendor) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, (int)vendor);
}

/* pci_lookup_name(PCI_LOOKUP_DEVICE): NULL when the id database has no name. */
static inline char *vgpuctl_pci_device_name(struct pci_access *a, char *buf, int size, u16 vendor, u16 device) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, (int)vendor, (int)device);
}

/* pci_lookup_name(PCI_LOOKUP_CLASS): NULL when unknown. */
static inline char *vgpuctl_pci_class_name(struct pci_access *a, char *buf, int size, u16 cls) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS, (int)cls);
}
#endif
#endif
