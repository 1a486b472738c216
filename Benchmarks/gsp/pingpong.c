/*
 * Minimal C reference for `vgpuctl gsp ping`: two processes ping-pong a payload through a
 * MAP_SHARED file, one buffer per direction, with the same wake-up scheme as vgpuctl's GSP
 * doorbells (a futex word per direction, a sleeping-waiter count, an optional bounded spin
 * before sleeping). No headers, checksums or ring bookkeeping: the floor vgpuctl is compared
 * against.
 *
 *   pingpong SIZE COUNT [SPIN]     prints: round_trips_per_second
 *
 * PIN=same in the environment runs both processes on CPU 0; PIN=split runs the parent on CPU 0
 * and the child on CPU 1.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct side {
    uint32_t seq;          /* bumped by the writer after the payload (release) */
    uint32_t doorbell;     /* futex word */
    uint32_t waiters;
    uint32_t pad[13];
};

struct shared {
    struct side req, rep;
};

static long spin_limit;

static void ring(struct side *s) {
    __atomic_fetch_add(&s->doorbell, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&s->waiters, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, &s->doorbell, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

static void wait_seq(struct side *s, uint32_t want) {
    for (long i = 0; i < spin_limit; i++) {
        if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == want) return;
        __builtin_ia32_pause();
    }
    for (;;) {
        uint32_t seen = __atomic_load_n(&s->doorbell, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == want) return;
        __atomic_fetch_add(&s->waiters, 1, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == want) {
            __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
            return;
        }
        syscall(SYS_futex, &s->doorbell, FUTEX_WAIT, seen, NULL, NULL, 0);
        __atomic_fetch_sub(&s->waiters, 1, __ATOMIC_SEQ_CST);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: pingpong SIZE COUNT [SPIN]\n");
        return 2;
    }
    size_t size = strtoul(argv[1], NULL, 0);
    long count = strtol(argv[2], NULL, 0);
    spin_limit = argc > 3 ? strtol(argv[3], NULL, 0) : 0;

    char path[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/pingpong-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    size_t total = sizeof(struct shared) + 2 * size;
    if (fd < 0 || ftruncate(fd, (off_t)total) != 0) { perror("shared file"); return 1; }
    unlink(path);
    struct shared *sh = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED) { perror("mmap"); return 1; }
    uint8_t *reqbuf = (uint8_t *)(sh + 1), *repbuf = reqbuf + size;
    uint8_t *local = malloc(size ? size : 1);

    const char *pin = getenv("PIN");
    int same = pin && strcmp(pin, "same") == 0, split = pin && strcmp(pin, "split") == 0;
    pid_t pid = fork();
    if (same || split) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(split && pid == 0 ? 1 : 0, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    if (pid == 0) {
        /* Server: copy the request out, the reply in. */
        for (long i = 1; i <= count; i++) {
            wait_seq(&sh->req, (uint32_t)i);
            memcpy(local, reqbuf, size);
            memcpy(repbuf, local, size);
            __atomic_store_n(&sh->rep.seq, (uint32_t)i, __ATOMIC_RELEASE);
            ring(&sh->rep);
        }
        _exit(0);
    }
    for (size_t i = 0; i < size; i++) local[i] = (uint8_t)(i * 31 + 7);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 1; i <= count; i++) {
        memcpy(reqbuf, local, size);
        __atomic_store_n(&sh->req.seq, (uint32_t)i, __ATOMIC_RELEASE);
        ring(&sh->req);
        wait_seq(&sh->rep, (uint32_t)i);
        memcpy(local, repbuf, size);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    waitpid(pid, NULL, 0);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.0f\n", (double)count / secs);
    return 0;
}
