/* futex(2) wrappers for the GSP doorbells; the layout assertions live in the header. */
#define _GNU_SOURCE
#include "CGSPMessaging.h"

#include <errno.h>

#ifdef __linux__
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int vgpuctl_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts;
    struct timespec *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, tp, NULL, 0);
    return r == 0 ? 0 : errno;
}

int vgpuctl_futex_wake(uint32_t *addr, int count) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE, count, NULL, NULL, 0);
    return r >= 0 ? (int)r : -errno;
}
int vgpuctl_spawn_detached(const char *path, char *const argv[], char *const envp[], int output_fd, int *pid_out) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t empty, defaults;
    int r;
    pid_t pid = 0;
    if ((r = posix_spawn_file_actions_init(&fa)) != 0) return r;
    if ((r = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return r;
    }
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, output_fd, 1);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&fa, output_fd, 2);
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (r == 0) r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (r == 0) r = posix_spawnattr_setsigmask(&attr, &empty);
    if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (r == 0) r = posix_spawn(&pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (r == 0 && pid_out) *pid_out = (int)pid;
    return r;
}
#else
int vgpuctl_spawn_detached(const char *path, char *const argv[], char *const envp[], int output_fd, int *pid_out) {
    (void)path; (void)argv; (void)envp; (void)output_fd; (void)pid_out;
    return ENOSYS;
}

int vgpuctl_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    (void)addr; (void)expected; (void)timeout_ns;
    return ENOSYS;
}

int vgpuctl_futex_wake(uint32_t *addr, int count) {
    (void)addr; (void)count;
    return -ENOSYS;
}
#endif
