/// The provisional part of stage 2 in one place: nova-core's fwctl device type, its RPC header,
/// the seven vGPU management commands (numbers, request and reply layouts, reply room), the
/// NVKV keys of a vGPU type, and vgpuctl's own additions. Everything here follows the vGPU
/// series' out-of-tree kernel and NVIDIA's published GMC API headers, none of which is in a
/// released kernel; when they change, this table (and its C mirror in `CControlChannel.h`)
/// changes and nothing else should.
///
/// Sources, by tag:
/// - `uapi`: `include/uapi/fwctl/nova-core.h` of the vGPU series (`struct fwctl_rpc_nova_core
///   { __u32 command_id; __u32 reserved; }`, the reply echoing the header) and its fwctl driver
///   (`drivers/gpu/nova-core/fwctl.rs`: configuration scope only, else EPERM; header shorter than
///   8 bytes or reserved != 0: EINVAL; GSP status != 0: EIO; replies capped at 16384 bytes).
/// - `gmcapi`: NVIDIA's GMC API table and `gmcapi_vgpu.h` (category VGPU_MGMT = 0x02, ids
///   0x0001..0x0007 => command ids 0x00020001..0x00020007; `Gmcapi*Params` layouts; type id
///   lists of at most 128 `NvU32`; QUERY_VGPU_PROPERTIES answers in NVKV; NVKV keys
///   0x3100..0x310F), as NVIDIA's userspace fwctl tools mirror them.
/// - `tool`: NVIDIA's userspace `vgpu-mgmt` tool (the ADD_VGPU_TYPE payload prefix
///   `gmcapi_add_vgpu_type_payload_hdr`, 136 bytes).
/// - `reference`: the project's kernel-abi.md §4 (device type 8).
/// - `vgpuctl`: no public layout exists; vgpuctl defines it (ROADMAP.md, stage 2).
public enum NovaCoreTable {
    /// `FWCTL_DEVICE_TYPE_NOVA_CORE`: unsettled, so a table entry (``deviceTypeCandidates``);
    /// vgpuctl uses the first.
    public static let deviceType: UInt32 = deviceTypeCandidates[0].value
    /// The numbers published for nova-core's fwctl device type, with who says so. Mainline has
    /// ERROR 0, MLX5 1, CXL 2, BNXT 3, PDS 4 and no nova-core entry.
    public static let deviceTypeCandidates: [(value: UInt32, source: String)] = [
        (8, "alokk-nv/vgpu-tools fwctl/include/fwctl.h (the RFC author's tree gives 8 to a Rust test type)"),
        (5, "alokk-nv/vgpu-tools README"),
    ]

    /// The two published numberings of the seven vGPU management commands. A tool must say
    /// which one it speaks; vgpuctl speaks ``gmcapiCategory`` on the fwctl path and names both.
    public enum CommandIDSet: String, Sendable, CaseIterable, Codable {
        /// `GMCAPI_ID(VGPU_MGMT = 0x02, n)` = 0x00020001..7: NVIDIA's GMC API table as its
        /// userspace fwctl tools mirror it (`gmcapi`).
        case gmcapiCategory = "0x0002000N"
        /// `GMCAPI_CMD_*` of the development firmware r000_00 = 0x10000001..7 (the RFC author's
        /// `gsp/fw/r000_00/bindings.rs`).
        case r000_00 = "0x1000000N"

        /// The id of the `n`th command (1-based) in this set.
        public func id(_ n: Int) -> UInt32 {
            (self == .gmcapiCategory ? 0x0002_0000 : 0x1000_0000) + UInt32(n)
        }

        public var source: String {
            self == .gmcapiCategory
                ? "NVIDIA GMC API table (category VGPU_MGMT 0x02), as NVIDIA's fwctl tools mirror it"
                : "development firmware r000_00 (GMCAPI_COMMANDS in the vGPU series author's bindings)"
        }
    }

    /// The command set vgpuctl's requests carry.
    public static let spokenIDSet = CommandIDSet.gmcapiCategory

    /// `sizeof(struct fwctl_rpc_nova_core)` (`uapi`).
    public static let headerSize = 8
    /// nova-core's `GSP_GMC_MAX_RESPONSE_SIZE` (`uapi`).
    public static let maxResponse = 16384
    /// The only scope nova-core permits the management commands in (`uapi`).
    public static let permittedScope = FwctlScope.configuration
    /// `GMCAPI_QUERY_VGPU_TYPE_ID_LIST_MAX_IDS` (`gmcapi`).
    public static let typeListMax = 128
    /// `GMCAPI_UPLOAD_VGPU_TYPE_GSP_BUILD_VERSION_LEN` (`gmcapi`, `tool`).
    public static let buildVersionLength = 128

    /// One management command: its number, names and wire layouts.
    public struct Command: Sendable, Hashable, CustomStringConvertible {
        /// `command_id` (`gmcapi`: `GMCAPI_ID(VGPU_MGMT, n)`).
        public let id: UInt32
        /// The GMC API symbol (`ASSIGN_VGPU_TYPE`); the uapi name prefixes
        /// `FWCTL_CMD_NOVA_CORE_GMCAPI_`.
        public let name: String
        /// What the request carries after the 8-byte header.
        public let request: String
        /// What the reply carries after the 8-byte header.
        public let reply: String
        /// Reply room vgpuctl gives (header included).
        public let replyRoom: Int
        /// Whether the command changes the firmware's state.
        public let changesState: Bool
        /// Where the layouts come from (tags above).
        public let source: String

        public var description: String { name }
    }

    /// `ADD_VGPU_TYPE` (0x00020001).
    public static let addType = Command(
        id: 0x0002_0001, name: "ADD_VGPU_TYPE",
        request:
            "gmcapi_add_vgpu_type_payload_hdr (136: gsp_build_version[128], discard_vgpu_types u8, pad[3], vgpu_info_count u32 = 1), then one vGPU type record as NVKV (keys below)",
        reply: "nothing", replyRoom: headerSize, changesState: true,
        source: "gmcapi (number), tool (prefix), vgpuctl (record: NVIDIA's is an opaque metadata blob)")
    /// `QUERY_SUPPORTED_VGPU_TYPES` (0x00020002).
    public static let querySupported = Command(
        id: 0x0002_0002, name: "QUERY_SUPPORTED_VGPU_TYPES",
        request: "nothing", reply: "NvU32 type ids (count = bytes / 4, at most 128; a 0 ends the list)",
        replyRoom: headerSize + 4 * typeListMax, changesState: false, source: "gmcapi")
    /// `QUERY_CREATABLE_VGPU_TYPES` (0x00020003): per PF, the types an assignment to a free VF
    /// would accept now.
    public static let queryCreatable = Command(
        id: 0x0002_0003, name: "QUERY_CREATABLE_VGPU_TYPES",
        request: "nothing", reply: "NvU32 type ids (as QUERY_SUPPORTED_VGPU_TYPES)",
        replyRoom: headerSize + 4 * typeListMax, changesState: false, source: "gmcapi")
    /// `ASSIGN_VGPU_TYPE` (0x00020004).
    public static let assign = Command(
        id: 0x0002_0004, name: "ASSIGN_VGPU_TYPE",
        request:
            "GmcapiAssignVgpuTypeInParams (24: dbdf u64, vgpuTypeId u32, swizzId u32, placementId u16 (0xFFFF: firmware chooses), pad), then optionally vgpuctl_assign_ext (8: channelOffset u32, reserved u32)",
        reply: "nothing", replyRoom: headerSize, changesState: true,
        source: "gmcapi (params), vgpuctl (placement 0xFFFF, the extension)")
    /// `DEASSIGN_VGPU_TYPE` (0x00020005).
    public static let deassign = Command(
        id: 0x0002_0005, name: "DEASSIGN_VGPU_TYPE",
        request: "GmcapiDeassignVgpuTypeInParams (8: dbdf u64)", reply: "nothing",
        replyRoom: headerSize, changesState: true, source: "gmcapi")
    /// `QUERY_VGPU_PROPERTIES` (0x00020006).
    public static let queryProperties = Command(
        id: 0x0002_0006, name: "QUERY_VGPU_PROPERTIES",
        request: "GmcapiQueryVgpuPropertiesInParams (4: vgpuTypeId u32)",
        reply: "NVKV stream of NvU64 words (keys below)", replyRoom: 4096, changesState: false,
        source: "gmcapi (params, NVKV, keys 0x31xx), vgpuctl (keys 0x318x, room)")
    /// `QUERY_ASSIGNED_VF_VGPU_TYPE` (0x00020007).
    public static let queryAssigned = Command(
        id: 0x0002_0007, name: "QUERY_ASSIGNED_VF_VGPU_TYPE",
        request: "GmcapiQueryAssignedVfVgpuTypeInParams (8: dbdf u64)",
        reply:
            "GmcapiQueryAssignedVfVgpuTypeOutParams (12: vgpuTypeId u32 (0: none), swizzId u32, placementId u16, pad), then optionally vgpuctl_assigned_vf_ext (16: channelOffset, channelCount, framebufferOffsetMiB, framebufferMiB, u32 each), then optionally vgpuctl_assigned_vf_engines (24: copyEngineMask u32, reserved u32, bar1Address u64, bar1Size u64)",
        replyRoom: headerSize + 12 + 16 + 24, changesState: false,
        source: "gmcapi (params), vgpuctl (the extension and the engines)")

    /// The seven, in number order.
    public static let all: [Command] = [
        addType, querySupported, queryCreatable, assign, deassign, queryProperties, queryAssigned,
    ]

    /// The command with number `id`.
    public static func command(_ id: UInt32) -> Command? { all.first { $0.id == id } }

    /// Sizes of the fixed parameter structs (checked against the C mirror in the tests).
    public enum Size {
        public static let addTypePrefix = 136
        public static let assignParams = 24
        public static let assignExtension = 8
        public static let vfParams = 8
        public static let propertiesParams = 4
        public static let assignedReply = 12
        public static let assignedExtension = 16
        /// `vgpuctl_assigned_vf_engines`, after the extension.
        public static let assignedEngines = 24
    }

    // MARK: vgpuctl's additions

    /// `placementId` meaning "the firmware chooses" (`vgpuctl`, after GMC API's `~0` = "RM
    /// assigns" convention for fixed ids).
    public static let placementFirmwareChooses: UInt16 = 0xFFFF
    /// `channelOffset` meaning "the firmware chooses" (`vgpuctl`).
    public static let channelFirmwareChooses: UInt32 = 0xFFFF_FFFF

    /// `NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC` (`vgpuctl`): the RM control on a subdevice that
    /// carries one fwctl request to gsp-stub over the GSP queues (parameters:
    /// `NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS`, reply in place). Class 0x2080, category 0xFF
    /// (unused by NVIDIA's ctrl2080 headers).
    public static let stubControl: UInt32 = 0x2080_FF01
    /// `sizeof(NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS)` without its buffer: four u32 and the
    /// 128-byte reason.
    public static let stubControlHeaderSize = 144
    /// `VGPUCTL_FWCTL_RPC_REASON_LEN`.
    public static let stubReasonLength = 128

    /// `vgpuctl_fwctl_info_nova_core.flags` bit 0: GSP-RM runs with vGPU (SR-IOV mode).
    public static let infoFlagVGPU: UInt32 = 1 << 0
    /// `sizeof(struct vgpuctl_fwctl_info_nova_core)`.
    public static let infoSize = 32

    // MARK: NVKV keys of a vGPU type

    /// Keys of ADD_VGPU_TYPE's record and QUERY_VGPU_PROPERTIES's reply. 0x3100..0x310F are
    /// NVIDIA's (`NVGMC_MGMT_GMCAPI_VGPU_*`, `gmcapi`); 0x3180.. are vgpuctl's (`vgpuctl`).
    public enum Key {
        /// `TYPE_NAME`: string (ARRAY8, NUL included).
        public static let typeName: UInt16 = 0x3100
        /// `TYPE_ID`: u32.
        public static let typeID: UInt16 = 0x3102
        /// `MAX_INSTANCE`: u32.
        public static let maxInstance: UInt16 = 0x3104
        /// `PROFILE_SIZE`: u64, bytes the profile's name promises (assumed meaning).
        public static let profileSize: UInt16 = 0x3106
        /// `FB_LENGTH`: u64, frame-buffer bytes a VF of the type gets.
        public static let fbLength: UInt16 = 0x310D
        /// vgpuctl: the series letters after the size (`C`, `Q`, `CME`): string.
        public static let series: UInt16 = 0x3180
        /// vgpuctl: placement units one instance takes: u32.
        public static let placementSize: UInt16 = 0x3181
        /// vgpuctl: allowed first placement units: u32 array.
        public static let placements: UInt16 = 0x3182
        /// vgpuctl: channels per VF: u32.
        public static let channels: UInt16 = 0x3183
        /// vgpuctl: copy engines per VF: u32.
        public static let copyEngines: UInt16 = 0x3184
        /// vgpuctl: MIG GPU-instance profile (`1g.10gb`): string; absent for time-sliced types.
        public static let migProfile: UInt16 = 0x3185
        /// vgpuctl: MIG compute slices: u32.
        public static let migComputeSlices: UInt16 = 0x3186
        /// vgpuctl: MIG memory slices: u32.
        public static let migMemorySlices: UInt16 = 0x3187
        /// vgpuctl: MIG memory placements: u32 array.
        public static let migMemoryPlacements: UInt16 = 0x3188
    }
}
