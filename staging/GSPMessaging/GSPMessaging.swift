/// Stage 1 of the upstream vGPU plan: the messages with which a driver boots GSP-RM with vGPU
/// enabled (nova-core's `gsp/` and its RFC "gpu: nova-core: Enable booting GSP with vGPU
/// enabled"), for firmware r570.144.
///
/// Layers, bottom up:
/// - `Wire/`: `GspMem` geometry, the queue element and RPC headers, the checksum, the
///   versioned function/event table, `NV_STATUS` names.
/// - `Payloads/`: `GspSystemInfo` with `GSP_VF_INFO`, `PACKED_REGISTRY_TABLE`, the CPU
///   sequencer, `OS_ERROR_LOG`, `UCODE_LIBOS_PRINT`, `GspStaticConfigInfo`, RM alloc/control/
///   free, `GspFwWprMeta` and the queue init arguments.
/// - `Transport/`: the shared mapping, acquire/release pointers, futex doorbells, one side's
///   rings (``QueueRing``), and messages with continuation records (``GSPEndpoint``).
/// - `Driver/`: the driver side (``GSPClient``) and the vGPU boot sequence (``VGPUBoot``).
/// - `Decode/`: `vgpuctl gsp decode` (``GspMemDump``).
/// - `Simulation/`: the run directory, spawning and stopping `gsp-stub` (``SimulatedGSP``).
///
/// Exact (checked by the C mirrors' `_Static_assert`s and byte-exact tests): `GspMem` layout,
/// queue headers, element and RPC headers, checksum, page accounting and wrap-around,
/// continuation records, function and event numbers, the sizes and field offsets of the payloads
/// vgpuctl writes, the registry table format, the sequencer buffer format, `GSP_VF_INFO` derived
/// from the SR-IOV capability as GSP-RM's own `kbifCacheVFInfo_GH100` does.
///
/// Simplified: `GspSystemInfo` and `GspStaticConfigInfo` fill only the fields listed in their
/// types (the rest are zero); `GspFwWprMeta` carries the frame-buffer size, WPR2 heap and VF
/// partition count only; the "DMA addresses" in the PTE page are file offsets; the doorbell
/// register, the interrupt and the BAR0 registers the sequencer touches are words in a page
/// after `GspMem` (``ControlPage``); the falcon reset/boot and the booter are the start of the
/// `gsp-stub` process.
public enum GSPMessaging {
    /// The firmware version whose wire format this module speaks.
    public static let firmwareVersion = GSPFirmwareTable.current.version
}
