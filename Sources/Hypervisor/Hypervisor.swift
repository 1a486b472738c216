// QEMU arguments, libvirt XML, QMP and the libvirt hook (see ROADMAP.md).
