/* libFuzzer's documented driver entry (compiler-rt FuzzerInterface.h). SwiftPM links an
 * executable with `main` aliased to `<module>_main`, so vgpuctl-fuzz defines that and hands
 * control to libFuzzer through this call. */
#ifndef VGPUCTL_CFUZZDRIVER_H
#define VGPUCTL_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
#endif
