/*
 * C mirrors of the GSP-RM shared-memory and RPC structures for firmware r570.144, with
 * _Static_assert on every size and offset vgpuctl relies on, plus the few C helpers Swift
 * cannot express portably (acquire/release atomics on shared memory, futex).
 *
 * Layouts are facts of the firmware ABI, written here from their published definitions:
 * NVIDIA open-gpu-kernel-modules (src/nvidia/inc/kernel/gpu/gsp/, generated RPC structures) and
 * the r570.144 excerpts in Linux (drivers/gpu/drm/nouveau/nvkm/subdev/gsp/rm/r570/nvrm/gsp.h,
 * drivers/gpu/nova-core/gsp/fw/r570_144/bindings.rs). Vendor names are kept so they can be
 * grepped for. The numbers in the _Static_asserts were computed by hand from those
 * definitions (natural alignment, as GSP-RM's RISC-V and the x86-64/arm64 hosts use); the
 * compiler checks that the mirrors agree, and the Swift tests check that the Swift encoders'
 * offset tables agree with the mirrors.
 */
#ifndef VGPUCTL_CGSPMESSAGING_H
#define VGPUCTL_CGSPMESSAGING_H

#include <stddef.h>
#include <stdint.h>

#define VGPUCTL_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define VGPUCTL_ASSERT_OFFSET(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

/* ---------------------------------------------------------------------------------------- */
/* Message queues (message_queue_priv.h, msgq_priv.h; nova-core gsp/cmdq.rs)                  */
/* ---------------------------------------------------------------------------------------- */

/** Header a queue's producer owns: geometry and the write pointer (page index). */
typedef struct msgqTxHeader {
    uint32_t version;   /* 0 */
    uint32_t size;      /* sizeof(Msgq) = 0x40000 */
    uint32_t msgSize;   /* 0x1000 */
    uint32_t msgCount;  /* 0x3f */
    uint32_t writePtr;
    uint32_t flags;     /* 1 */
    uint32_t rxHdrOff;  /* offsetof(Msgq, rx) = 0x20 */
    uint32_t entryOff;  /* 0x1000 */
} msgqTxHeader;
VGPUCTL_ASSERT_SIZE(msgqTxHeader, 0x20);
VGPUCTL_ASSERT_OFFSET(msgqTxHeader, writePtr, 0x10);
VGPUCTL_ASSERT_OFFSET(msgqTxHeader, entryOff, 0x1c);

/** Header a queue's consumer side records how far it has read the *other* queue in. */
typedef struct msgqRxHeader {
    uint32_t readPtr;
} msgqRxHeader;
VGPUCTL_ASSERT_SIZE(msgqRxHeader, 4);

/** rpc_message_header_v03_00: 32 bytes, then the function's payload. */
typedef struct rpc_message_header_v03_00 {
    uint32_t header_version;      /* 0x03000000 */
    uint32_t signature;           /* 0x43505256, "VRPC" */
    uint32_t length;              /* this header + payload carried by this element */
    uint32_t function;
    uint32_t rpc_result;          /* sender: 0xFFFFFFFF (NV_VGPU_MSG_RESULT_RPC_PENDING) */
    uint32_t rpc_result_private;  /* sender: 0xFFFFFFFF */
    uint32_t sequence;
    union {
        uint32_t spare;
        uint32_t cpuRmGfid;
    } u;
    uint8_t rpc_message_data[];
} rpc_message_header_v03_00;
VGPUCTL_ASSERT_SIZE(rpc_message_header_v03_00, 0x20);
VGPUCTL_ASSERT_OFFSET(rpc_message_header_v03_00, length, 0x08);
VGPUCTL_ASSERT_OFFSET(rpc_message_header_v03_00, function, 0x0c);
VGPUCTL_ASSERT_OFFSET(rpc_message_header_v03_00, rpc_result, 0x10);
VGPUCTL_ASSERT_OFFSET(rpc_message_header_v03_00, sequence, 0x18);

/** GSP_MSG_QUEUE_ELEMENT (r570: with the confidential-computing auth tag and AAD). */
typedef struct __attribute__((aligned(8))) GSP_MSG_QUEUE_ELEMENT {
    uint8_t  authTagBuffer[16];
    uint8_t  aadBuffer[16];
    uint32_t checkSum;
    uint32_t seqNum;
    uint32_t elemCount;
    uint32_t padding;
    rpc_message_header_v03_00 rpc;
} GSP_MSG_QUEUE_ELEMENT;
VGPUCTL_ASSERT_SIZE(GSP_MSG_QUEUE_ELEMENT, 0x50);
VGPUCTL_ASSERT_OFFSET(GSP_MSG_QUEUE_ELEMENT, aadBuffer, 0x10);
VGPUCTL_ASSERT_OFFSET(GSP_MSG_QUEUE_ELEMENT, checkSum, 0x20);
VGPUCTL_ASSERT_OFFSET(GSP_MSG_QUEUE_ELEMENT, seqNum, 0x24);
VGPUCTL_ASSERT_OFFSET(GSP_MSG_QUEUE_ELEMENT, elemCount, 0x28);
VGPUCTL_ASSERT_OFFSET(GSP_MSG_QUEUE_ELEMENT, rpc, 0x30);

/* ---------------------------------------------------------------------------------------- */
/* GSP_SET_SYSTEM_INFO (gsp.h: GspSystemInfo)                                                  */
/* ---------------------------------------------------------------------------------------- */

typedef struct BUSINFO {
    uint16_t deviceID;
    uint16_t vendorID;
    uint16_t subdeviceID;
    uint16_t subvendorID;
    uint8_t  revisionID;
} BUSINFO;
VGPUCTL_ASSERT_SIZE(BUSINFO, 10);

typedef struct DOD_METHOD_DATA {
    uint32_t status;
    uint32_t acpiIdListLen;
    uint32_t acpiIdList[16];
} DOD_METHOD_DATA;

typedef struct JT_METHOD_DATA {
    uint32_t status;
    uint32_t jtCaps;
    uint16_t jtRevId;
    uint8_t  bSBIOSCaps;
} JT_METHOD_DATA;

typedef struct MUX_METHOD_DATA_ELEMENT {
    uint32_t acpiId;
    uint32_t mode;
    uint32_t status;
} MUX_METHOD_DATA_ELEMENT;

typedef struct MUX_METHOD_DATA {
    uint32_t tableLen;
    MUX_METHOD_DATA_ELEMENT acpiIdMuxModeTable[16];
    MUX_METHOD_DATA_ELEMENT acpiIdMuxPartTable[16];
    MUX_METHOD_DATA_ELEMENT acpiIdMuxStateTable[16];
} MUX_METHOD_DATA;

typedef struct CAPS_METHOD_DATA {
    uint32_t status;
    uint32_t optimusCaps;
} CAPS_METHOD_DATA;

typedef struct ACPI_METHOD_DATA {
    uint8_t          bValid;
    DOD_METHOD_DATA  dodMethodData;
    JT_METHOD_DATA   jtMethodData;
    MUX_METHOD_DATA  muxMethodData;
    CAPS_METHOD_DATA capsMethodData;
} ACPI_METHOD_DATA;
VGPUCTL_ASSERT_SIZE(ACPI_METHOD_DATA, 676);

/** The VF part of GspSystemInfo: what the PF's SR-IOV capability says about its VFs. */
typedef struct GSP_VF_INFO {
    uint32_t totalVFs;
    uint32_t firstVFOffset;
    uint64_t FirstVFBar0Address;
    uint64_t FirstVFBar1Address;
    uint64_t FirstVFBar2Address;
    uint8_t  b64bitBar0;
    uint8_t  b64bitBar1;
    uint8_t  b64bitBar2;
} GSP_VF_INFO;
VGPUCTL_ASSERT_SIZE(GSP_VF_INFO, 0x28);
VGPUCTL_ASSERT_OFFSET(GSP_VF_INFO, FirstVFBar0Address, 0x08);
VGPUCTL_ASSERT_OFFSET(GSP_VF_INFO, FirstVFBar2Address, 0x18);
VGPUCTL_ASSERT_OFFSET(GSP_VF_INFO, b64bitBar0, 0x20);
VGPUCTL_ASSERT_OFFSET(GSP_VF_INFO, b64bitBar2, 0x22);

typedef struct GSP_PCIE_CONFIG_REG {
    uint32_t linkCap;
} GSP_PCIE_CONFIG_REG;

typedef struct GspSystemInfo {
    uint64_t gpuPhysAddr;
    uint64_t gpuPhysFbAddr;
    uint64_t gpuPhysInstAddr;
    uint64_t gpuPhysIoAddr;
    uint64_t nvDomainBusDeviceFunc;
    uint64_t simAccessBufPhysAddr;
    uint64_t notifyOpSharedSurfacePhysAddr;
    uint64_t pcieAtomicsOpMask;
    uint64_t consoleMemSize;
    uint64_t maxUserVa;
    uint32_t pciConfigMirrorBase;
    uint32_t pciConfigMirrorSize;
    uint32_t PCIDeviceID;
    uint32_t PCISubDeviceID;
    uint32_t PCIRevisionID;
    uint32_t pcieAtomicsCplDeviceCapMask;
    uint8_t  oorArch;
    uint64_t clPdbProperties;
    uint32_t Chipset;
    uint8_t  bGpuBehindBridge;
    uint8_t  bFlrSupported;
    uint8_t  b64bBar0Supported;
    uint8_t  bMnocAvailable;
    uint32_t chipsetL1ssEnable;
    uint8_t  bUpstreamL0sUnsupported;
    uint8_t  bUpstreamL1Unsupported;
    uint8_t  bUpstreamL1PorSupported;
    uint8_t  bUpstreamL1PorMobileOnly;
    uint8_t  bSystemHasMux;
    uint8_t  upstreamAddressValid;
    BUSINFO  FHBBusInfo;
    BUSINFO  chipsetIDInfo;
    ACPI_METHOD_DATA acpiMethodData;
    uint32_t hypervisorType;
    uint8_t  bIsPassthru;
    uint64_t sysTimerOffsetNs;
    GSP_VF_INFO gspVFInfo;
    uint8_t  bIsPrimary;
    uint8_t  isGridBuild;
    GSP_PCIE_CONFIG_REG pcieConfigReg;
    uint32_t gridBuildCsp;
    uint8_t  bPreserveVideoMemoryAllocations;
    uint8_t  bTdrEventSupported;
    uint8_t  bFeatureStretchVblankCapable;
    uint8_t  bEnableDynamicGranularityPageArrays;
    uint8_t  bClockBoostSupported;
    uint8_t  bRouteDispIntrsToCPU;
    uint64_t hostPageSize;
} GspSystemInfo;
VGPUCTL_ASSERT_SIZE(GspSystemInfo, 0x3a0);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, nvDomainBusDeviceFunc, 0x20);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, maxUserVa, 0x48);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, pciConfigMirrorBase, 0x50);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, PCIDeviceID, 0x58);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, PCISubDeviceID, 0x5c);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, PCIRevisionID, 0x60);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, oorArch, 0x68);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, clPdbProperties, 0x70);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, FHBBusInfo, 0x8a);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, chipsetIDInfo, 0x94);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, acpiMethodData, 0xa0);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, hypervisorType, 0x344);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, bIsPassthru, 0x348);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, sysTimerOffsetNs, 0x350);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, gspVFInfo, 0x358);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, bIsPrimary, 0x380);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, pcieConfigReg, 0x384);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, bPreserveVideoMemoryAllocations, 0x38c);
VGPUCTL_ASSERT_OFFSET(GspSystemInfo, hostPageSize, 0x398);

/* ---------------------------------------------------------------------------------------- */
/* SET_REGISTRY (PACKED_REGISTRY_TABLE)                                                        */
/* ---------------------------------------------------------------------------------------- */

#define REGISTRY_TABLE_ENTRY_TYPE_UNKNOWN 0
#define REGISTRY_TABLE_ENTRY_TYPE_DWORD   1
#define REGISTRY_TABLE_ENTRY_TYPE_BINARY  2
#define REGISTRY_TABLE_ENTRY_TYPE_STRING  3

typedef struct PACKED_REGISTRY_ENTRY {
    uint32_t nameOffset;  /* from the start of the table */
    uint8_t  type;
    uint32_t data;        /* DWORD value, or offset of BINARY/STRING data */
    uint32_t length;
} PACKED_REGISTRY_ENTRY;
VGPUCTL_ASSERT_SIZE(PACKED_REGISTRY_ENTRY, 16);
VGPUCTL_ASSERT_OFFSET(PACKED_REGISTRY_ENTRY, data, 8);

typedef struct PACKED_REGISTRY_TABLE {
    uint32_t size;        /* whole table: header, entries, strings */
    uint32_t numEntries;
    PACKED_REGISTRY_ENTRY entries[];
} PACKED_REGISTRY_TABLE;
VGPUCTL_ASSERT_SIZE(PACKED_REGISTRY_TABLE, 8);

/* ---------------------------------------------------------------------------------------- */
/* Events and RM RPCs (g_rpc-structures.h, g_sdk-structures.h)                                */
/* ---------------------------------------------------------------------------------------- */

typedef struct rpc_run_cpu_sequencer_v17_00 {
    uint32_t bufferSizeDWord;
    uint32_t cmdIndex;
    uint32_t regSaveArea[8];
    uint32_t commandBuffer[];
} rpc_run_cpu_sequencer_v17_00;
VGPUCTL_ASSERT_SIZE(rpc_run_cpu_sequencer_v17_00, 40);

typedef enum GSP_SEQ_BUF_OPCODE {
    GSP_SEQ_BUF_OPCODE_REG_WRITE = 0,
    GSP_SEQ_BUF_OPCODE_REG_MODIFY = 1,
    GSP_SEQ_BUF_OPCODE_REG_POLL = 2,
    GSP_SEQ_BUF_OPCODE_DELAY_US = 3,
    GSP_SEQ_BUF_OPCODE_REG_STORE = 4,
    GSP_SEQ_BUF_OPCODE_CORE_RESET = 5,
    GSP_SEQ_BUF_OPCODE_CORE_START = 6,
    GSP_SEQ_BUF_OPCODE_CORE_WAIT_FOR_HALT = 7,
    GSP_SEQ_BUF_OPCODE_CORE_RESUME = 8,
} GSP_SEQ_BUF_OPCODE;

typedef struct GSP_SEQ_BUF_PAYLOAD_REG_WRITE { uint32_t addr; uint32_t val; } GSP_SEQ_BUF_PAYLOAD_REG_WRITE;
typedef struct GSP_SEQ_BUF_PAYLOAD_REG_MODIFY { uint32_t addr; uint32_t mask; uint32_t val; } GSP_SEQ_BUF_PAYLOAD_REG_MODIFY;
typedef struct GSP_SEQ_BUF_PAYLOAD_REG_POLL {
    uint32_t addr; uint32_t mask; uint32_t val; uint32_t timeout; uint32_t error;
} GSP_SEQ_BUF_PAYLOAD_REG_POLL;
typedef struct GSP_SEQ_BUF_PAYLOAD_DELAY_US { uint32_t val; } GSP_SEQ_BUF_PAYLOAD_DELAY_US;
typedef struct GSP_SEQ_BUF_PAYLOAD_REG_STORE { uint32_t addr; uint32_t index; } GSP_SEQ_BUF_PAYLOAD_REG_STORE;
VGPUCTL_ASSERT_SIZE(GSP_SEQ_BUF_PAYLOAD_REG_POLL, 20);

typedef struct rpc_os_error_log_v17_00 {
    uint32_t exceptType;
    uint32_t runlistId;
    uint32_t chid;
    char     errString[0x100];
    uint32_t preemptiveRemovalPreviousXid;
} rpc_os_error_log_v17_00;
VGPUCTL_ASSERT_SIZE(rpc_os_error_log_v17_00, 0x110);
VGPUCTL_ASSERT_OFFSET(rpc_os_error_log_v17_00, errString, 12);

typedef struct rpc_ucode_libos_print_v1E_08 {
    uint32_t ucodeEngDesc;
    uint32_t libosPrintBufSize;
    uint8_t  libosPrintBuf[];
} rpc_ucode_libos_print_v1E_08;
VGPUCTL_ASSERT_SIZE(rpc_ucode_libos_print_v1E_08, 8);

typedef struct rpc_gsp_rm_alloc_v03_00 {
    uint32_t hClient;
    uint32_t hParent;
    uint32_t hObject;
    uint32_t hClass;
    uint32_t status;
    uint32_t paramsSize;
    uint32_t flags;
    uint8_t  reserved[4];
    uint8_t  params[];
} rpc_gsp_rm_alloc_v03_00;
VGPUCTL_ASSERT_SIZE(rpc_gsp_rm_alloc_v03_00, 32);

typedef struct rpc_gsp_rm_control_v03_00 {
    uint32_t hClient;
    uint32_t hObject;
    uint32_t cmd;
    uint32_t status;
    uint32_t paramsSize;
    uint32_t flags;
    uint8_t  params[];
} rpc_gsp_rm_control_v03_00;
VGPUCTL_ASSERT_SIZE(rpc_gsp_rm_control_v03_00, 24);

typedef struct NVOS00_PARAMETERS_v03_00 {
    uint32_t hRoot;
    uint32_t hObjectParent;
    uint32_t hObjectOld;
    uint32_t status;
} NVOS00_PARAMETERS_v03_00;

typedef struct rpc_free_v03_00 {
    NVOS00_PARAMETERS_v03_00 params;
} rpc_free_v03_00;
VGPUCTL_ASSERT_SIZE(rpc_free_v03_00, 16);

/* ---------------------------------------------------------------------------------------- */
/* GET_GSP_STATIC_INFO (gsp.h: GspStaticConfigInfo)                                           */
/* ---------------------------------------------------------------------------------------- */

typedef struct NV2080_CTRL_GPU_GET_GID_INFO_PARAMS {
    uint32_t index;
    uint32_t flags;
    uint32_t length;
    uint8_t  data[0x100];
} NV2080_CTRL_GPU_GET_GID_INFO_PARAMS;

typedef struct NV2080_CTRL_BIOS_GET_SKU_INFO_PARAMS {
    uint32_t BoardID;
    char     chipSKU[9];
    char     chipSKUMod[5];
    uint32_t skuConfigVersion;
    char     project[5];
    char     projectSKU[5];
    char     CDP[6];
    char     projectSKUMod[2];
    uint32_t businessCycle;
} NV2080_CTRL_BIOS_GET_SKU_INFO_PARAMS;
VGPUCTL_ASSERT_SIZE(NV2080_CTRL_BIOS_GET_SKU_INFO_PARAMS, 48);

typedef struct NV2080_CTRL_CMD_FB_GET_FB_REGION_FB_REGION_INFO {
    uint64_t base;
    uint64_t limit;
    uint64_t reserved;
    uint32_t performance;
    uint8_t  supportCompressed;
    uint8_t  supportISO;
    uint8_t  bProtected;
    uint8_t  blackList[17];
} NV2080_CTRL_CMD_FB_GET_FB_REGION_FB_REGION_INFO;
VGPUCTL_ASSERT_SIZE(NV2080_CTRL_CMD_FB_GET_FB_REGION_FB_REGION_INFO, 48);

typedef struct NV2080_CTRL_CMD_FB_GET_FB_REGION_INFO_PARAMS {
    uint32_t numFBRegions;
    NV2080_CTRL_CMD_FB_GET_FB_REGION_FB_REGION_INFO fbRegion[16];
} NV2080_CTRL_CMD_FB_GET_FB_REGION_INFO_PARAMS;
VGPUCTL_ASSERT_SIZE(NV2080_CTRL_CMD_FB_GET_FB_REGION_INFO_PARAMS, 776);

typedef struct NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS {
    uint32_t totalVFs;
    uint32_t firstVfOffset;
    uint32_t vfFeatureMask;
    uint64_t FirstVFBar0Address;
    uint64_t FirstVFBar1Address;
    uint64_t FirstVFBar2Address;
    uint64_t bar0Size;
    uint64_t bar1Size;
    uint64_t bar2Size;
    uint8_t  b64bitBar0;
    uint8_t  b64bitBar1;
    uint8_t  b64bitBar2;
    uint8_t  bSriovEnabled;
    uint8_t  bSriovHeavyEnabled;
    uint8_t  bEmulateVFBar0TlbInvalidationRegister;
    uint8_t  bClientRmAllocatedCtxBuffer;
    uint8_t  bNonPowerOf2ChannelCountSupported;
    uint8_t  bVfResizableBAR1Supported;
} NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS;
VGPUCTL_ASSERT_SIZE(NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS, 0x50);
VGPUCTL_ASSERT_OFFSET(NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS, FirstVFBar0Address, 0x10);
VGPUCTL_ASSERT_OFFSET(NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS, bar0Size, 0x28);
VGPUCTL_ASSERT_OFFSET(NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS, b64bitBar0, 0x40);
VGPUCTL_ASSERT_OFFSET(NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS, bSriovEnabled, 0x43);

typedef struct VIRTUAL_DISPLAY_GET_NUM_HEADS_PARAMS {
    uint32_t numHeads;
    uint32_t maxNumHeads;
} VIRTUAL_DISPLAY_GET_NUM_HEADS_PARAMS;

typedef struct VIRTUAL_DISPLAY_GET_MAX_RESOLUTION_PARAMS {
    uint32_t headIndex;
    uint32_t maxHResolution;
    uint32_t maxVResolution;
} VIRTUAL_DISPLAY_GET_MAX_RESOLUTION_PARAMS;

typedef struct EcidManufacturingInfo {
    uint32_t ecidLow;
    uint32_t ecidHigh;
    uint32_t ecidExtended;
} EcidManufacturingInfo;

typedef struct FW_WPR_LAYOUT_OFFSET {
    uint64_t nonWprHeapOffset;
    uint64_t frtsOffset;
} FW_WPR_LAYOUT_OFFSET;

/* NVGPU_ENGINE_CAPS_MASK_ARRAY_MAX is 3 for r570.144 (RM_ENGINE_TYPE_LAST = 0x54). */
typedef struct GspStaticConfigInfo {
    uint8_t  grCapsBits[23];
    NV2080_CTRL_GPU_GET_GID_INFO_PARAMS gidInfo;
    NV2080_CTRL_BIOS_GET_SKU_INFO_PARAMS SKUInfo;
    NV2080_CTRL_CMD_FB_GET_FB_REGION_INFO_PARAMS fbRegionInfoParams;
    NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS sriovCaps;
    uint32_t sriovMaxGfid;
    uint32_t engineCaps[3];
    uint8_t  poisonFuseEnabled;
    uint64_t fb_length;
    uint64_t fbio_mask;
    uint32_t fb_bus_width;
    uint32_t fb_ram_type;
    uint64_t fbp_mask;
    uint32_t l2_cache_size;
    uint8_t  gpuNameString[0x40];
    uint8_t  gpuShortNameString[0x40];
    uint16_t gpuNameString_Unicode[0x40];
    uint8_t  bGpuInternalSku;
    uint8_t  bIsQuadroGeneric;
    uint8_t  bIsQuadroAd;
    uint8_t  bIsNvidiaNvs;
    uint8_t  bIsVgx;
    uint8_t  bGeforceSmb;
    uint8_t  bIsTitan;
    uint8_t  bIsTesla;
    uint8_t  bIsMobile;
    uint8_t  bIsGc6Rtd3Allowed;
    uint8_t  bIsGc8Rtd3Allowed;
    uint8_t  bIsGcOffRtd3Allowed;
    uint8_t  bIsGcoffLegacyAllowed;
    uint8_t  bIsMigSupported;
    uint16_t RTD3GC6TotalBoardPower;
    uint16_t RTD3GC6PerstDelay;
    uint64_t bar1PdeBase;
    uint64_t bar2PdeBase;
    uint8_t  bVbiosValid;
    uint32_t vbiosSubVendor;
    uint32_t vbiosSubDevice;
    uint8_t  bPageRetirementSupported;
    uint8_t  bSplitVasBetweenServerClientRm;
    uint8_t  bClRootportNeedsNosnoopWAR;
    VIRTUAL_DISPLAY_GET_NUM_HEADS_PARAMS displaylessMaxHeads;
    VIRTUAL_DISPLAY_GET_MAX_RESOLUTION_PARAMS displaylessMaxResolution;
    uint64_t displaylessMaxPixels;
    uint32_t hInternalClient;
    uint32_t hInternalDevice;
    uint32_t hInternalSubdevice;
    uint8_t  bSelfHostedMode;
    uint8_t  bAtsSupported;
    uint8_t  bIsGpuUefi;
    uint8_t  bIsEfiInit;
    EcidManufacturingInfo ecidInfo[2];
    FW_WPR_LAYOUT_OFFSET fwWprLayoutOffset;
} GspStaticConfigInfo;
VGPUCTL_ASSERT_SIZE(GspStaticConfigInfo, 0x678);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, gidInfo, 0x18);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, SKUInfo, 0x124);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, fbRegionInfoParams, 0x158);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, sriovCaps, 0x460);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, sriovMaxGfid, 0x4b0);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, fb_length, 0x4c8);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, fb_bus_width, 0x4d8);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, l2_cache_size, 0x4e8);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, gpuNameString, 0x4ec);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, gpuShortNameString, 0x52c);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, bIsVgx, 0x5f0);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, bIsMigSupported, 0x5f9);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, bar1PdeBase, 0x600);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, vbiosSubVendor, 0x614);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, displaylessMaxPixels, 0x638);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, hInternalClient, 0x640);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, bSelfHostedMode, 0x64c);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, ecidInfo, 0x650);
VGPUCTL_ASSERT_OFFSET(GspStaticConfigInfo, fwWprLayoutOffset, 0x668);

/* ---------------------------------------------------------------------------------------- */
/* Boot arguments the booter and GSP-RM read (gsp.h)                                          */
/* ---------------------------------------------------------------------------------------- */

#define GSP_FW_WPR_META_MAGIC    0xdc3aae21371a60b3ULL
#define GSP_FW_WPR_META_REVISION 1

typedef struct GspFwWprMeta {
    uint64_t magic;
    uint64_t revision;
    uint64_t sysmemAddrOfRadix3Elf;
    uint64_t sizeOfRadix3Elf;
    uint64_t sysmemAddrOfBootloader;
    uint64_t sizeOfBootloader;
    uint64_t bootloaderCodeOffset;
    uint64_t bootloaderDataOffset;
    uint64_t bootloaderManifestOffset;
    union {
        struct { uint64_t sysmemAddrOfSignature; uint64_t sizeOfSignature; } boot;
        struct { uint32_t gspFwHeapFreeListWprOffset; uint32_t unused0; uint64_t unused1; } resume;
    } u1;
    uint64_t gspFwRsvdStart;
    uint64_t nonWprHeapOffset;
    uint64_t nonWprHeapSize;
    uint64_t gspFwWprStart;
    uint64_t gspFwHeapOffset;
    uint64_t gspFwHeapSize;
    uint64_t gspFwOffset;
    uint64_t bootBinOffset;
    uint64_t frtsOffset;
    uint64_t frtsSize;
    uint64_t gspFwWprEnd;
    uint64_t fbSize;
    uint64_t vgaWorkspaceOffset;
    uint64_t vgaWorkspaceSize;
    uint64_t bootCount;
    union {
        struct {
            uint64_t partitionRpcAddr;
            uint16_t partitionRpcRequestOffset;
            uint16_t partitionRpcReplyOffset;
            uint32_t elfCodeOffset;
            uint32_t elfDataOffset;
            uint32_t elfCodeSize;
            uint32_t elfDataSize;
            uint32_t lsUcodeVersion;
        } partition;
        struct {
            uint32_t partitionRpcPadding[4];
            uint64_t sysmemAddrOfCrashReportQueue;
            uint32_t sizeOfCrashReportQueue;
            uint32_t lsUcodeVersionPadding[1];
        } crashcat;
    } u2;
    uint8_t  gspFwHeapVfPartitionCount;
    uint8_t  flags;
    uint8_t  padding[2];
    uint32_t pmuReservedSize;
    uint64_t verified;
} GspFwWprMeta;
VGPUCTL_ASSERT_SIZE(GspFwWprMeta, 0x100);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwRsvdStart, 0x58);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwWprStart, 0x70);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwHeapOffset, 0x78);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwHeapSize, 0x80);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, frtsOffset, 0x98);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwWprEnd, 0xa8);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, fbSize, 0xb0);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, gspFwHeapVfPartitionCount, 0xf0);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, pmuReservedSize, 0xf4);
VGPUCTL_ASSERT_OFFSET(GspFwWprMeta, verified, 0xf8);

typedef struct MESSAGE_QUEUE_INIT_ARGUMENTS {
    uint64_t sharedMemPhysAddr;
    uint32_t pageTableEntryCount;
    uint64_t cmdQueueOffset;
    uint64_t statQueueOffset;
} MESSAGE_QUEUE_INIT_ARGUMENTS;
VGPUCTL_ASSERT_SIZE(MESSAGE_QUEUE_INIT_ARGUMENTS, 0x20);
VGPUCTL_ASSERT_OFFSET(MESSAGE_QUEUE_INIT_ARGUMENTS, cmdQueueOffset, 0x10);

typedef struct GSP_SR_INIT_ARGUMENTS {
    uint32_t oldLevel;
    uint32_t flags;
    uint8_t  bInPMTransition;
} GSP_SR_INIT_ARGUMENTS;

typedef struct GSP_ARGUMENTS_CACHED {
    MESSAGE_QUEUE_INIT_ARGUMENTS messageQueueInitArguments;
    GSP_SR_INIT_ARGUMENTS srInitArguments;
    uint32_t gpuInstance;
    uint8_t  bDmemStack;
    struct { uint64_t pa; uint64_t size; } profilerArgs;
} GSP_ARGUMENTS_CACHED;
VGPUCTL_ASSERT_SIZE(GSP_ARGUMENTS_CACHED, 0x48);
VGPUCTL_ASSERT_OFFSET(GSP_ARGUMENTS_CACHED, gpuInstance, 0x2c);
VGPUCTL_ASSERT_OFFSET(GSP_ARGUMENTS_CACHED, profilerArgs, 0x38);

/* ---------------------------------------------------------------------------------------- */
/* vgpuctl's simulation page: appended to GspMem in the shared file (not a firmware struct)   */
/* ---------------------------------------------------------------------------------------- */

/** Number of simulated BAR0 registers (address/value pairs). */
#define VGPUCTL_SIM_REGISTERS 64

/**
 * The page after GspMem in the shared file. It stands in for what a real GPU provides
 * besides the shared system memory: the doorbell register (NV_PGSP_QUEUE_HEAD) and the
 * interrupt line (futex words here, "data" doorbells), two "space" doorbells for a producer
 * waiting on a full queue (a real driver polls), a few BAR0 registers the CPU sequencer
 * touches, the boot arguments the booter reads, and the firmware's liveness. Each futex word
 * sits in its own cache line.
 */
typedef struct VGPUCTL_GSP_SIM_PAGE {
    uint32_t magic;                 /* VGPUCTL_SIM_PAGE_MAGIC */
    uint32_t layoutVersion;         /* 1 */
    uint32_t firmwareState;         /* VGPUCTL_FW_STATE_* */
    uint32_t firmwarePid;
    uint32_t haltCode;              /* NV_STATUS the firmware halted with, 0 otherwise */
    uint32_t reserved0[11];
    uint32_t doorbellToGsp;         /* NV_PGSP_QUEUE_HEAD stand-in: bumped after new commands or freed space */
    uint32_t gspWaiters;
    uint32_t reserved1[14];
    uint32_t doorbellToCpu;         /* interrupt stand-in: bumped after new messages or freed space */
    uint32_t cpuWaiters;
    uint32_t reserved2[14];
    uint32_t cpuTxSeqNum;           /* driver-side state, kept here so the next vgpuctl process resumes */
    uint32_t cpuRxSeqNum;
    uint32_t cpuRpcSequence;
    uint32_t reserved3[13];
    GSP_ARGUMENTS_CACHED gspArguments;
    uint8_t  reserved4[0x180 - 0x100 - sizeof(GSP_ARGUMENTS_CACHED)];
    uint32_t spaceForGsp;           /* bumped by the CPU after consuming messages (GSP waits on it when gspq is full) */
    uint32_t spaceGspWaiters;
    uint32_t reserved5[14];
    uint32_t spaceForCpu;           /* bumped by the GSP after consuming commands (CPU waits on it when cpuq is full) */
    uint32_t spaceCpuWaiters;
    uint32_t reserved6[14];
    GspFwWprMeta wprMeta;
    uint8_t  reserved7[0x100];
    struct { uint32_t addr; uint32_t value; } registers[VGPUCTL_SIM_REGISTERS];
    uint8_t  reserved8[0x1000 - 0x400 - 8 * VGPUCTL_SIM_REGISTERS];
} VGPUCTL_GSP_SIM_PAGE;
VGPUCTL_ASSERT_SIZE(VGPUCTL_GSP_SIM_PAGE, 0x1000);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, doorbellToGsp, 0x40);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, gspWaiters, 0x44);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, doorbellToCpu, 0x80);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, cpuWaiters, 0x84);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, cpuTxSeqNum, 0xc0);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, gspArguments, 0x100);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, spaceForGsp, 0x180);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, spaceForCpu, 0x1c0);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, wprMeta, 0x200);
VGPUCTL_ASSERT_OFFSET(VGPUCTL_GSP_SIM_PAGE, registers, 0x400);

#define VGPUCTL_SIM_PAGE_MAGIC 0x50534776u /* "vGSP" */

#define VGPUCTL_FW_STATE_OFF        0u  /* not started */
#define VGPUCTL_FW_STATE_STARTING   1u  /* process running, queues not linked */
#define VGPUCTL_FW_STATE_LINKED     2u  /* status queue initialised */
#define VGPUCTL_FW_STATE_RUNNING    3u  /* GSP_INIT_DONE sent */
#define VGPUCTL_FW_STATE_HALTED     4u  /* firmware check failed; no further messages */
#define VGPUCTL_FW_STATE_EXITED     5u  /* process exited on purpose */

/* ---------------------------------------------------------------------------------------- */
/* Atomics and futex on the shared mapping                                                     */
/* ---------------------------------------------------------------------------------------- */

/** Load with acquire ordering (`__atomic_load_n(p, __ATOMIC_ACQUIRE)`). */
static inline uint32_t vgpuctl_load_acquire_u32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/** Store with release ordering (`__atomic_store_n(p, v, __ATOMIC_RELEASE)`). */
static inline void vgpuctl_store_release_u32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/** Sequentially consistent fetch-and-add; returns the previous value. */
static inline uint32_t vgpuctl_fetch_add_u32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

/** Sequentially consistent fetch-and-subtract; returns the previous value. */
static inline uint32_t vgpuctl_fetch_sub_u32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
}

/** A full fence (`__atomic_thread_fence(__ATOMIC_SEQ_CST)`). */
static inline void vgpuctl_fence_seq_cst(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/** A spin-loop hint (x86 `pause`, arm64 `yield`). */
static inline void vgpuctl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/**
 * `futex(addr, FUTEX_WAIT, expected, timeout)` on a shared mapping (not FUTEX_PRIVATE, so it
 * works across processes). Sleeps while `*addr == expected`, at most `timeout_ns` (< 0: no
 * limit). Returns 0 when woken, else the errno: EAGAIN (value differed), ETIMEDOUT, EINTR.
 * ENOSYS where futex does not exist.
 */
int vgpuctl_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns);

/** `futex(addr, FUTEX_WAKE, count)`: returns the number of waiters woken, or -errno. */
int vgpuctl_futex_wake(uint32_t *addr, int count);

/**
 * Starts `path` with `argv` and `envp` as a detached process (`posix_spawn` with
 * POSIX_SPAWN_SETSID, so it has its own session and outlives the caller's terminal): stdin
 * from /dev/null, stdout and stderr to `output_fd`, every other descriptor closed, signal
 * mask empty and SIGTERM/SIGINT/SIGHUP/SIGPIPE at their defaults. The child stays the
 * caller's child (the caller may `waitpid` it). Returns 0 and stores the pid, or the errno.
 */
int vgpuctl_spawn_detached(const char *path, char *const argv[], char *const envp[], int output_fd, int *pid_out);

#endif /* VGPUCTL_CGSPMESSAGING_H */
