/// Handles for one RM client and the objects under it. RM handles are chosen by the caller
/// (the kernel driver, here vgpuctl playing it); the client handle comes from a slot, object
/// handles count up under it, and released handles are reused.
///
/// Layout (vgpuctl's): client `0xC7C0_0000 | slot << 8`, objects client + 1 ... client + 0xFF.
/// gsp-stub's own objects use `0xC1D0_xxxx`.
public struct RMHandleAllocator: Sendable {
    public static let base: UInt32 = 0xC7C0_0000
    /// Client slots (14 bits).
    public static let slots: UInt32 = 1 << 14
    public let client: UInt32
    private var next: UInt32 = 1
    private var free: [UInt32] = []
    public private(set) var live: Set<UInt32> = []

    /// The allocator of client slot `slot` (taken modulo ``slots``).
    public init(slot: UInt32) {
        client = Self.base | (slot % Self.slots) << 8
    }

    /// The slot after this one, for a retry when the client handle is taken.
    public var nextSlot: UInt32 { ((client - Self.base) >> 8 + 1) % Self.slots }

    /// A new object handle under the client; nil when all 255 are live.
    public mutating func take() -> UInt32? {
        if let h = free.popLast() {
            live.insert(h)
            return h
        }
        guard next <= 0xFF else { return nil }
        let h = client | next
        next += 1
        live.insert(h)
        return h
    }

    /// Gives `handle` back for reuse.
    public mutating func release(_ handle: UInt32) {
        guard live.remove(handle) != nil else { return }
        free.append(handle)
    }

    /// Forgets every object handle (after the client was freed, which frees what it owns).
    public mutating func releaseAll() {
        live = []
        free = []
        next = 1
    }
}
