/* Bridge to libudev. Found through pkg-config `libudev`; Debian package libudev-dev. */
#ifndef VGPUCTL_CUDEV_SHIM_H
#define VGPUCTL_CUDEV_SHIM_H
#include <libudev.h>
#endif
