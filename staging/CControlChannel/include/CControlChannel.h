/*
 * C mirrors of the fwctl UAPI and of the provisional nova-core vGPU management wire format,
 * with _Static_assert on every size, offset and number Swift relies on, and the one ioctl call
 * Swift cannot make itself (ioctl(2) is variadic).
 *
 * 1. fwctl (Linux include/uapi/fwctl/fwctl.h, merged in 6.15; drivers/fwctl/main.c): exact.
 *    Kernel names are kept so they can be grepped for; the constants carry a VGPUCTL_ prefix
 *    so this header can sit beside the kernel's own one day.
 * 2. nova-core's fwctl RPC header (include/uapi/fwctl/nova-core.h of the out-of-tree vGPU
 *    series) and the GMC API vGPU management parameter structs (NVIDIA's gmcapi_vgpu.h as
 *    mirrored by its userspace fwctl tools): provisional, not in any released kernel.
 * 3. vgpuctl's own provisional additions where no public layout exists: trailing extensions
 *    of two GMC API structs, the FWCTL_INFO device data of a nova-core device, and the RM
 *    control that carries a fwctl request to gsp-stub over the GSP queues.
 *
 * Every provisional number is listed once, in ControlChannel's NovaCoreTable.swift, which
 * says where each comes from; ROADMAP.md (stage 2) describes the layouts.
 * Layouts use natural alignment (x86-64, arm64 and GSP-RM's RISC-V agree for these types).
 */
#ifndef VGPUCTL_CCONTROLCHANNEL_H
#define VGPUCTL_CCONTROLCHANNEL_H

#include <stddef.h>
#include <stdint.h>

#define VGPUCTL_CC_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define VGPUCTL_CC_ASSERT_OFFSET(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

/* ---------------------------------------------------------------------------------------- */
/* 1. fwctl UAPI (include/uapi/fwctl/fwctl.h)                                                  */
/* ---------------------------------------------------------------------------------------- */

/** FWCTL_TYPE, the ioctl numbers (_IO: no size or direction bits) and their command slots. */
enum {
    VGPUCTL_FWCTL_TYPE = 0x9A,
    VGPUCTL_FWCTL_CMD_INFO = 0,
    VGPUCTL_FWCTL_CMD_RPC = 1,
    VGPUCTL_FWCTL_INFO = (0x9A << 8) | 0, /* _IO(FWCTL_TYPE, FWCTL_CMD_INFO) */
    VGPUCTL_FWCTL_RPC = (0x9A << 8) | 1,  /* _IO(FWCTL_TYPE, FWCTL_CMD_RPC) */
};
_Static_assert(VGPUCTL_FWCTL_INFO == 0x9A00, "FWCTL_INFO is 0x9A00");
_Static_assert(VGPUCTL_FWCTL_RPC == 0x9A01, "FWCTL_RPC is 0x9A01");

/** enum fwctl_device_type. NOVA_CORE is provisional (the vGPU series' out-of-tree kernel). */
enum {
    VGPUCTL_FWCTL_DEVICE_TYPE_ERROR = 0,
    VGPUCTL_FWCTL_DEVICE_TYPE_MLX5 = 1,
    VGPUCTL_FWCTL_DEVICE_TYPE_CXL = 2,
    VGPUCTL_FWCTL_DEVICE_TYPE_BNXT = 3,
    VGPUCTL_FWCTL_DEVICE_TYPE_PDS = 4,
    VGPUCTL_FWCTL_DEVICE_TYPE_NOVA_CORE = 8,
};

/** enum fwctl_rpc_scope. DEBUG_WRITE and DEBUG_WRITE_FULL taint the kernel; DEBUG_WRITE_FULL
 *  needs CAP_SYS_RAWIO. */
enum {
    VGPUCTL_FWCTL_RPC_CONFIGURATION = 0,
    VGPUCTL_FWCTL_RPC_DEBUG_READ_ONLY = 1,
    VGPUCTL_FWCTL_RPC_DEBUG_WRITE = 2,
    VGPUCTL_FWCTL_RPC_DEBUG_WRITE_FULL = 3,
};

/** drivers/fwctl/main.c: MAX_RPC_LEN = SZ_2M; in_len or out_len above it is EMSGSIZE. */
enum { VGPUCTL_FWCTL_MAX_RPC_LEN = 2 * 1024 * 1024 };

/** struct fwctl_info: ioctl(FWCTL_INFO). */
struct fwctl_info {
    uint32_t size;            /* sizeof(struct fwctl_info) */
    uint32_t flags;           /* must be 0 (else EOPNOTSUPP) */
    uint32_t out_device_type; /* out: enum fwctl_device_type */
    uint32_t device_data_len; /* in: room at out_device_data; out: the driver's full length */
    uint64_t out_device_data __attribute__((aligned(8)));
};
VGPUCTL_CC_ASSERT_SIZE(struct fwctl_info, 24);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_info, flags, 4);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_info, out_device_type, 8);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_info, device_data_len, 12);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_info, out_device_data, 16);

/** struct fwctl_rpc: ioctl(FWCTL_RPC). */
struct fwctl_rpc {
    uint32_t size;    /* sizeof(struct fwctl_rpc) */
    uint32_t scope;   /* enum fwctl_rpc_scope */
    uint32_t in_len;  /* request bytes at in */
    uint32_t out_len; /* in: room at out; out: the reply's full length (may exceed the room) */
    uint64_t in __attribute__((aligned(8)));
    uint64_t out __attribute__((aligned(8)));
};
VGPUCTL_CC_ASSERT_SIZE(struct fwctl_rpc, 32);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc, scope, 4);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc, in_len, 8);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc, out_len, 12);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc, in, 16);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc, out, 24);

/* ---------------------------------------------------------------------------------------- */
/* 2. nova-core (provisional): include/uapi/fwctl/nova-core.h and GMC API vGPU management     */
/* ---------------------------------------------------------------------------------------- */

/** Request and reply header; the reply echoes command_id, reserved must be 0. */
struct fwctl_rpc_nova_core {
    uint32_t command_id;
    uint32_t reserved;
};
VGPUCTL_CC_ASSERT_SIZE(struct fwctl_rpc_nova_core, 8);
VGPUCTL_CC_ASSERT_OFFSET(struct fwctl_rpc_nova_core, reserved, 4);

/** ASSIGN_VGPU_TYPE input. dbdf: domain in bits 63:32, bus 15:8, devfn 7:0. */
typedef struct GmcapiAssignVgpuTypeInParams {
    uint64_t dbdf;
    uint32_t vgpuTypeId;
    uint32_t swizzId;     /* MIG; reserved, 0 */
    uint16_t placementId; /* "not supported yet" upstream; vgpuctl: 0xFFFF = firmware chooses */
} GmcapiAssignVgpuTypeInParams;
VGPUCTL_CC_ASSERT_SIZE(GmcapiAssignVgpuTypeInParams, 24);
VGPUCTL_CC_ASSERT_OFFSET(GmcapiAssignVgpuTypeInParams, vgpuTypeId, 8);
VGPUCTL_CC_ASSERT_OFFSET(GmcapiAssignVgpuTypeInParams, swizzId, 12);
VGPUCTL_CC_ASSERT_OFFSET(GmcapiAssignVgpuTypeInParams, placementId, 16);

/** DEASSIGN_VGPU_TYPE and QUERY_ASSIGNED_VF_VGPU_TYPE input. */
typedef struct GmcapiDeassignVgpuTypeInParams {
    uint64_t dbdf;
} GmcapiDeassignVgpuTypeInParams;
VGPUCTL_CC_ASSERT_SIZE(GmcapiDeassignVgpuTypeInParams, 8);

typedef struct GmcapiQueryAssignedVfVgpuTypeInParams {
    uint64_t dbdf;
} GmcapiQueryAssignedVfVgpuTypeInParams;
VGPUCTL_CC_ASSERT_SIZE(GmcapiQueryAssignedVfVgpuTypeInParams, 8);

/** QUERY_VGPU_PROPERTIES input; the output is an NVKV stream. */
typedef struct GmcapiQueryVgpuPropertiesInParams {
    uint32_t vgpuTypeId;
} GmcapiQueryVgpuPropertiesInParams;
VGPUCTL_CC_ASSERT_SIZE(GmcapiQueryVgpuPropertiesInParams, 4);

/** QUERY_ASSIGNED_VF_VGPU_TYPE output; vgpuTypeId 0 means no type. */
typedef struct GmcapiQueryAssignedVfVgpuTypeOutParams {
    uint32_t vgpuTypeId;
    uint32_t swizzId;     /* reserved */
    uint16_t placementId; /* reserved upstream; the stub reports the placement */
} GmcapiQueryAssignedVfVgpuTypeOutParams;
VGPUCTL_CC_ASSERT_SIZE(GmcapiQueryAssignedVfVgpuTypeOutParams, 12);
VGPUCTL_CC_ASSERT_OFFSET(GmcapiQueryAssignedVfVgpuTypeOutParams, swizzId, 4);
VGPUCTL_CC_ASSERT_OFFSET(GmcapiQueryAssignedVfVgpuTypeOutParams, placementId, 8);

/** ADD_VGPU_TYPE input: this prefix, then one vGPU type record (NVIDIA: an opaque metadata
 *  blob; vgpuctl: an NVKV stream with the QUERY_VGPU_PROPERTIES keys). */
struct gmcapi_add_vgpu_type_params_hdr {
    uint8_t discard_vgpu_types; /* 1: forget the types added before (vgpuctl sends 0) */
    uint8_t padding[3];
    uint32_t vgpu_info_count;   /* records that follow: 1 */
};
VGPUCTL_CC_ASSERT_SIZE(struct gmcapi_add_vgpu_type_params_hdr, 8);
VGPUCTL_CC_ASSERT_OFFSET(struct gmcapi_add_vgpu_type_params_hdr, vgpu_info_count, 4);

enum { VGPUCTL_GMCAPI_GSP_BUILD_VERSION_LEN = 128 };
struct gmcapi_add_vgpu_type_payload_hdr {
    uint8_t gsp_build_version[VGPUCTL_GMCAPI_GSP_BUILD_VERSION_LEN];
    struct gmcapi_add_vgpu_type_params_hdr params;
};
VGPUCTL_CC_ASSERT_SIZE(struct gmcapi_add_vgpu_type_payload_hdr, 136);
VGPUCTL_CC_ASSERT_OFFSET(struct gmcapi_add_vgpu_type_payload_hdr, params, 128);

/* ---------------------------------------------------------------------------------------- */
/* 3. vgpuctl's provisional additions                                                         */
/* ---------------------------------------------------------------------------------------- */

/** Follows GmcapiAssignVgpuTypeInParams when vgpuctl's book chose the channel range. */
struct vgpuctl_assign_ext {
    uint32_t channelOffset; /* first channel id; 0xFFFFFFFF = firmware chooses */
    uint32_t reserved;      /* 0 */
};
VGPUCTL_CC_ASSERT_SIZE(struct vgpuctl_assign_ext, 8);

/** Follows GmcapiQueryAssignedVfVgpuTypeOutParams in the stub's reply. */
struct vgpuctl_assigned_vf_ext {
    uint32_t channelOffset;
    uint32_t channelCount;
    uint32_t framebufferOffsetMiB;
    uint32_t framebufferMiB;
};
VGPUCTL_CC_ASSERT_SIZE(struct vgpuctl_assigned_vf_ext, 16);

/** Follows vgpuctl_assigned_vf_ext when the firmware reports the VF's engines and BAR1 window
 *  (stage 3's engine enumeration; no published format carries these per VF). */
struct vgpuctl_assigned_vf_engines {
    uint32_t copyEngineMask; /* bit i: copy engine i serves the VF */
    uint32_t reserved;       /* 0 */
    uint64_t bar1Address;    /* bus address of the VF's BAR1 window */
    uint64_t bar1Size;       /* bytes */
};
VGPUCTL_CC_ASSERT_SIZE(struct vgpuctl_assigned_vf_engines, 24);

/** FWCTL_INFO device data of a nova-core device (no public layout: vgpuctl's). */
struct vgpuctl_fwctl_info_nova_core {
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    uint32_t flags;      /* bit 0: GSP-RM runs with vGPU (SR-IOV mode) */
    uint32_t total_vfs;
    char firmware_version[16]; /* "570.144", NUL padded */
};
VGPUCTL_CC_ASSERT_SIZE(struct vgpuctl_fwctl_info_nova_core, 32);
VGPUCTL_CC_ASSERT_OFFSET(struct vgpuctl_fwctl_info_nova_core, flags, 8);
VGPUCTL_CC_ASSERT_OFFSET(struct vgpuctl_fwctl_info_nova_core, total_vfs, 12);
VGPUCTL_CC_ASSERT_OFFSET(struct vgpuctl_fwctl_info_nova_core, firmware_version, 16);

/** The RM control that carries one fwctl request to gsp-stub (the role nova-core's GMC
 *  transport plays): GSP_RM_CONTROL on a subdevice, parameters = this header, then a buffer
 *  of max(inLen, outLen) bytes holding the request; the reply replaces it in place. */
enum { VGPUCTL_FWCTL_RPC_REASON_LEN = 128 };
typedef struct NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS {
    uint32_t scope;  /* enum fwctl_rpc_scope, as given to FWCTL_RPC */
    uint32_t inLen;  /* request bytes */
    uint32_t outLen; /* in: room for the reply; out: the reply's full length (0 on a refusal) */
    uint32_t status; /* out: NV_STATUS of the management command */
    char reason[VGPUCTL_FWCTL_RPC_REASON_LEN]; /* out: why, on a refusal (NUL-terminated) */
    uint8_t buffer[];
} NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS;
VGPUCTL_CC_ASSERT_SIZE(NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS, 144);
VGPUCTL_CC_ASSERT_OFFSET(NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS, status, 12);
VGPUCTL_CC_ASSERT_OFFSET(NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS, reason, 16);
VGPUCTL_CC_ASSERT_OFFSET(NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS, buffer, 144);

/* RM allocation parameters the channel's RM session sends (cl0000.h, cl0080.h, cl2080.h as
 * published for 535.113.01; assumed unchanged in r570.144). */
typedef struct NV0000_ALLOC_PARAMETERS {
    uint32_t hClient;
    uint32_t processID;
    char processName[100]; /* NV_PROC_NAME_MAX_LENGTH */
} NV0000_ALLOC_PARAMETERS;
VGPUCTL_CC_ASSERT_SIZE(NV0000_ALLOC_PARAMETERS, 108);
VGPUCTL_CC_ASSERT_OFFSET(NV0000_ALLOC_PARAMETERS, processName, 8);

typedef struct NV0080_ALLOC_PARAMETERS {
    uint32_t deviceId;
    uint32_t hClientShare;
    uint32_t hTargetClient;
    uint32_t hTargetDevice;
    uint32_t flags;
    uint64_t vaSpaceSize __attribute__((aligned(8)));
    uint64_t vaStartInternal __attribute__((aligned(8)));
    uint64_t vaLimitInternal __attribute__((aligned(8)));
    uint32_t vaMode;
} NV0080_ALLOC_PARAMETERS;
VGPUCTL_CC_ASSERT_SIZE(NV0080_ALLOC_PARAMETERS, 56);
VGPUCTL_CC_ASSERT_OFFSET(NV0080_ALLOC_PARAMETERS, vaSpaceSize, 24);
VGPUCTL_CC_ASSERT_OFFSET(NV0080_ALLOC_PARAMETERS, vaMode, 48);

typedef struct NV2080_ALLOC_PARAMETERS {
    uint32_t subDeviceId;
} NV2080_ALLOC_PARAMETERS;
VGPUCTL_CC_ASSERT_SIZE(NV2080_ALLOC_PARAMETERS, 4);

/* ---------------------------------------------------------------------------------------- */
/* The syscall                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** Issues FWCTL_INFO or FWCTL_RPC (`request`) on `fd` with `arg` (a struct fwctl_info or
 *  struct fwctl_rpc). Returns 0, or the errno of ioctl(2). Linux only: elsewhere ENOSYS. */
int vgpuctl_fwctl_ioctl(int fd, unsigned int request, void *arg);

#endif
