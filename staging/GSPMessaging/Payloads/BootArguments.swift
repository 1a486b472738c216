/// The boot-time structures the booter and GSP-RM read before any message flows.

/// `MESSAGE_QUEUE_INIT_ARGUMENTS` (first member of `GSP_ARGUMENTS_CACHED`): where GSP-RM finds
/// the queues.
public struct MessageQueueInitArguments: Codable, Equatable, Sendable {
    public static let size = 0x20
    /// DMA address of the PTE page (the shared file's offset 0 in the simulation).
    public var sharedMemPhysAddr: UInt64 = 0
    public var pageTableEntryCount: UInt32 = UInt32(GspMemLayout.pteCount)
    public var cmdQueueOffset: UInt64 = UInt64(GspMemLayout.cpuQueueOffset)
    public var statQueueOffset: UInt64 = UInt64(GspMemLayout.gspQueueOffset)

    public init() {}

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put64(0, sharedMemPhysAddr)
        b.put32(8, pageTableEntryCount)
        b.put64(0x10, cmdQueueOffset)
        b.put64(0x18, statQueueOffset)
        return b
    }

    public init(decoding b: [UInt8]) {
        sharedMemPhysAddr = b.le64(0)
        pageTableEntryCount = b.le32(8)
        cmdQueueOffset = b.le64(0x10)
        statQueueOffset = b.le64(0x18)
    }
}

/// `GspFwWprMeta` (256 bytes): the frame-buffer layout the booter checks and GSP-RM uses.
///
/// Exact: size, magic, revision and the offsets written here. Simplified: the image addresses
/// and sizes are zero (there is no firmware image), and the layout is reduced to the frame
/// buffer size, the WPR2 heap and the VF partition count: the numbers the vGPU boot changes.
public struct WPRMeta: Codable, Equatable, Sendable {
    public static let size = 0x100
    /// `GSP_FW_WPR_META_MAGIC`.
    public static let magicValue: UInt64 = 0xdc3a_ae21_371a_60b3
    /// `GSP_FW_WPR_META_REVISION`.
    public static let revisionValue: UInt64 = 1

    public var magic: UInt64 = Self.magicValue
    public var revision: UInt64 = Self.revisionValue
    public var gspFwWprStart: UInt64 = 0
    public var gspFwHeapOffset: UInt64 = 0
    public var gspFwHeapSize: UInt64 = 0
    public var gspFwWprEnd: UInt64 = 0
    public var fbSize: UInt64 = 0
    public var gspFwHeapVfPartitionCount: UInt8 = 0

    public init() {}

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put64(0, magic)
        b.put64(8, revision)
        b.put64(0x70, gspFwWprStart)
        b.put64(0x78, gspFwHeapOffset)
        b.put64(0x80, gspFwHeapSize)
        b.put64(0xA8, gspFwWprEnd)
        b.put64(0xB0, fbSize)
        b[0xF0] = gspFwHeapVfPartitionCount
        return b
    }

    public init(decoding b: [UInt8]) {
        magic = b.le64(0)
        revision = b.le64(8)
        gspFwWprStart = b.le64(0x70)
        gspFwHeapOffset = b.le64(0x78)
        gspFwHeapSize = b.le64(0x80)
        gspFwWprEnd = b.le64(0xA8)
        fbSize = b.le64(0xB0)
        gspFwHeapVfPartitionCount = b[0xF0]
    }

    /// The WPR2 heap for a vGPU boot (RFC "Enable booting GSP with vGPU enabled"): fixed at
    /// 581 MiB with 32 VF partitions.
    public static let vgpuHeapSize: UInt64 = 581 << 20
    public static let vgpuPartitionCount: UInt8 = 32
    /// Heaps above this need the scrubber ucode on SEC2 first (same RFC).
    public static let scrubberThreshold: UInt64 = 256_000_000

    /// A layout for a frame buffer of `fbSize` bytes: the heap sits just below a 1 MiB
    /// reserved top and the WPR2 region spans it. Without vGPU the heap follows nova-core's
    /// LIBOS3 formula (22 MiB carveout + 8 MiB RM base + 96 MiB client + 96 KiB per GiB of
    /// frame buffer, 1 MiB aligned, clamped to 88..280 MiB); with vGPU it is 581 MiB.
    public static func layout(fbSize: UInt64, vgpu: Bool) -> WPRMeta {
        var m = WPRMeta()
        m.fbSize = fbSize
        if vgpu {
            m.gspFwHeapSize = vgpuHeapSize
            m.gspFwHeapVfPartitionCount = vgpuPartitionCount
        } else {
            let mib: UInt64 = 1 << 20
            let gib = (fbSize + (1 << 30) - 1) >> 30
            let perGB = ((98_304 * gib) + mib - 1) / mib * mib
            let heap = (22 * mib) + (8 * mib) + (96 * mib) + perGB
            m.gspFwHeapSize = min(max(heap, 88 * mib), 279 * mib)
        }
        let top = fbSize > (1 << 20) ? fbSize - (1 << 20) : fbSize
        m.gspFwWprEnd = top
        m.gspFwHeapOffset = top > m.gspFwHeapSize ? top - m.gspFwHeapSize : 0
        m.gspFwWprStart = m.gspFwHeapOffset
        return m
    }
}
