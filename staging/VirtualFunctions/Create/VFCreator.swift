import HostKit
import VGPUTypes

/// `vf create`: enables a PF's VFs when it has none, picks free VFs, gives them their types and
/// says how each goes to a VM.
///
/// The whole request is planned on the book first: a request that does not fit (one type or a
/// mix) is refused with the book's explanation before anything changes. Should the driver then
/// refuse part-way, the VFs typed by this request are cleared again.
public struct VFCreator {
    public let root: HostRoot
    public let kernel: any Kernel
    public let waiterFactory: @Sendable () throws(VGPUError) -> any VFWaiter
    public let channels: ControlChannelFactory?
    public var timeout: Duration = .seconds(30)
    /// Scrubbers of the GPUs' frame buffers (VFs whose scrub is pending are not free).
    public var scrubbers: ScrubberFactory?

    public init(
        root: HostRoot, kernel: any Kernel, waiterFactory: @escaping @Sendable () throws(VGPUError) -> any VFWaiter,
        channels: ControlChannelFactory? = nil
    ) {
        self.root = root
        self.kernel = kernel
        self.waiterFactory = waiterFactory
        self.channels = channels
    }

    /// One request: `count` VFs of `type` (nil on a generic host: plain VFs).
    public struct Request: Sendable, Equatable {
        public var type: String?
        public var count: Int
        public init(type: String?, count: Int) {
            self.type = type
            self.count = count
        }
    }

    /// A VF the command made ready.
    public struct Created: Sendable, Encodable, Equatable {
        public var vf: String
        public var index: Int
        public var type: String?
        public var framebufferMiB: Int?
        public var framebufferOffsetMiB: Int?
        public var channels: GPUBook.Span?
        public var copyEngines: [Int]?
        public var handoff: Handoff
    }

    public struct Outcome: Sendable, Encodable, Equatable {
        public var pf: String
        public var backend: VGPUBackendKind
        /// VFs enabled by this command (0 when the PF had them already).
        public var enabledVFs: Int
        public var created: [Created]
    }

    var sysfs: SysfsReader { SysfsReader(root: root) }
    var controller: VFController { VFController(root: root, kernel: kernel, waiterFactory: waiterFactory) }

    /// Checks a request and plans it, changing nothing. Returns the backend and the VF indices.
    /// `chosen`: use these VFs (in order) instead of picking free ones; each must be a VF of
    /// `pf` and free.
    public func plan(pf: PCIAddress, _ requests: [Request], vfs chosen: [PCIAddress]? = nil)
        throws(VirtualFunctionsError) -> (
            any VGPUBackend, [(index: Int, type: String?)]
        )
    {
        let pfDev = try VirtualFunctionsError.wrapping(.host) { try controller.pf(pf) }
        guard let sr = pfDev.sriov else { throw .invalid(.noSRIOV, "\(pf) has no SR-IOV capability") }
        let total = requests.reduce(0) { $0 + $1.count }
        guard total > 0, requests.allSatisfy({ $0.count > 0 }) else {
            throw .invalid(.badRequest, "--count must be 1 or more")
        }
        var chosenIndices: [Int]?
        if let chosen {
            guard chosen.count == total else {
                throw .invalid(
                    .badRequest,
                    "\(chosen.count) VFs named with --vf for \(total) vGPUs; name one VF per vGPU, or none to let vgpuctl pick"
                )
            }
            guard Set(chosen).count == chosen.count else {
                throw .invalid(.badRequest, "a VF is named twice with --vf")
            }
            var idx: [Int] = []
            for vf in chosen { idx.append(try TypedVFBackend.ref(vf, pf: pf, sysfs: sysfs).index) }
            chosenIndices = idx
        }
        let backend = try VGPUBackends.detect(
            root: root, kernel: kernel, pf: pf, channels: channels, scrubbers: scrubbers)
        guard let typed = backend as? TypedVFBackend else {
            if let t = requests.compactMap(\.type).first { throw GenericBackend.noTypes(pf: pf, type: t) }
            let free =
                sr.numVFs == 0
                ? Array(0..<sr.totalVFs)
                : sr.vfs.indices.filter { i in
                    let d = sysfs.device(sr.vfs[i])
                    return !(d?.driver.map(["vfio-pci", "nvgrace_gpu_vfio_pci"].contains) ?? false)
                        && sysfs.vfioHolders(sr.vfs[i]).isEmpty
                }
            if let chosenIndices {
                if let busy = chosenIndices.first(where: { !free.contains($0) }) {
                    throw .refused(
                        .vfNotFree, "\(sr.vfs[busy]) is not free: it is bound to a VFIO driver or open by a process")
                }
                return (backend, chosenIndices.map { ($0, nil) })
            }
            guard free.count >= total else { throw Self.tooFew(pf, sr, free: free.count, needed: total) }
            return (backend, free.prefix(total).map { ($0, nil) })
        }
        var resolved: [VGPUCatalog.VGPUType] = []
        for r in requests {
            guard let name = r.type else {
                throw .invalid(
                    .badRequest,
                    "\(pf) offers vGPU types (\(typed.kind.rawValue)); name one with --type (see 'vgpuctl profile list \(pf)')"
                )
            }
            let (_, t) = try VirtualFunctionsError.wrapping(.unknownType) { try typed.profiles.type(name, for: pfDev) }
            resolved += Array(repeating: t, count: r.count)
        }
        let view = try typed.view()
        let unscrubbed = Set(try typed.scrubber?.pending(pf: pf).map(\.vf) ?? [])
        var free: [Int]
        if sr.numVFs == 0 {
            free = Array(0..<view.book.vfSlots)
        } else {
            free = sr.vfs.indices.filter { i in
                let r = VFRef(pf: pf, index: i, address: sr.vfs[i])
                return view.assignments[i] == nil && view.foreign[i] == nil && i < view.book.vfSlots
                    && !unscrubbed.contains(i)
                    && typed.interface.unusable(r) == nil && sysfs.vfioHolders(sr.vfs[i]).isEmpty
            }
        }
        if let chosenIndices {
            for i in chosenIndices where !free.contains(i) {
                let r = VFRef(pf: pf, index: i, address: sr.vfs[i])
                if let a = view.assignments[i] {
                    throw .refused(
                        .vfBusy,
                        "\(r.address) already carries \(a.typeName); clear it first ('vgpuctl vf clear \(r.address)')")
                }
                if let why = typed.interface.unusable(r) { throw .failed(.unusable, why) }
                if let refusal = try typed.scrubRefusal(r) { throw refusal }
                throw .refused(.vfNotFree, "\(r.address) is open by a process; it is not free")
            }
            free = chosenIndices
        }
        guard free.count >= total else {
            let why = sr.vfs.indices.lazy.filter { view.assignments[$0] == nil }
                .compactMap { typed.interface.unusable(VFRef(pf: pf, index: $0, address: sr.vfs[$0])) }.first
            let e = Self.tooFew(pf, sr, free: free.count, needed: total)
            throw VirtualFunctionsError(
                e.code, e.status, e.message + (why.map { "; untyped VFs cannot take a type: \($0)" } ?? ""))
        }
        var book = view.book
        let placed: [GPUBook.Entry]
        do {
            placed = try book.placeAll(zip(resolved, free).map { (type: $0.0, vf: $0.1) })
        } catch {
            throw TypedVFBackend.capacity(error, pf: pf)
        }
        return (backend, placed.map { ($0.vf, $0.type) })
    }

    static func tooFew(_ pf: PCIAddress, _ sr: PCIDevice.SRIOVState, free: Int, needed: Int) -> VirtualFunctionsError {
        .failed(
            .tooFewVFs,
            "\(pf) has \(sr.numVFs) VFs enabled and \(free) of them free, but the request needs \(needed); changing the VF count removes every VF (vgpuctl vf disable \(pf) first, when none is in use)"
        )
    }

    /// Carries out `requests` on `pf`.
    public func create(pf: PCIAddress, _ requests: [Request], vfs chosen: [PCIAddress]? = nil)
        throws(VirtualFunctionsError)
        -> Outcome
    {
        let (backend, planned) = try plan(pf: pf, requests, vfs: chosen)
        guard let sr = sysfs.device(pf)?.sriov else { throw .failed(.deviceGone, "\(pf) disappeared") }
        var enabled = 0
        if sr.numVFs == 0 {
            let autoprobe = (backend as? TypedVFBackend)?.interface.vfsNeedVendorDriver ?? false
            _ = try VirtualFunctionsError.wrapping(.host) {
                try controller.enable(pf, count: sr.totalVFs, force: false, autoprobe: autoprobe, timeout: timeout)
            }
            enabled = sr.totalVFs
        }
        guard let vfs = sysfs.device(pf)?.sriov?.vfs, planned.allSatisfy({ $0.index < vfs.count }) else {
            throw .failed(.tooFewVFs, "\(pf) lists fewer VFs than planned after enabling them")
        }
        guard let typed = backend as? TypedVFBackend else {
            return Outcome(
                pf: pf.description, backend: backend.kind, enabledVFs: enabled,
                created: planned.map {
                    Created(
                        vf: vfs[$0.index].description, index: $0.index, type: nil,
                        handoff: .viaPassthrough(vfs[$0.index]))
                })
        }
        var done: [PCIAddress] = []
        for p in planned {
            guard let type = p.type else { continue }
            do { try typed.assign(type: type, vf: vfs[p.index]) } catch {
                for vf in done.reversed() { try? typed.clear(vf: vf) }
                let undone = done.isEmpty ? "" : " (the \(done.count) VFs typed before it were cleared again)"
                throw VirtualFunctionsError(
                    error.code, error.status, error.message + undone, cause: error.cause, underlying: error.underlying)
            }
            done.append(vfs[p.index])
        }
        let view = try typed.view()
        // Not handed on while the firmware's report disagrees with the book or the BARs.
        let problems = try typed.engineReport(view).problems.filter { p in
            p.vfs.contains { i in planned.contains { $0.index == i && $0.type != nil } }
        }
        if !problems.isEmpty {
            throw VirtualFunctionsError(
                .engineReport, .failed,
                "\(pf): the VFs have their types but are not handed on: \(problems.map(\.message).joined(separator: "; ")); the firmware does not give them what their types need (clear them with 'vgpuctl vf clear' and check the GPU's firmware)",
                cause: "engine check: \(problems.map(\.kind.rawValue).joined(separator: ", "))")
        }
        return Outcome(
            pf: pf.description, backend: typed.kind, enabledVFs: enabled,
            created: planned.map { p in
                let e = view.book.entry(vf: p.index)
                let r = VFRef(pf: pf, index: p.index, address: vfs[p.index])
                return Created(
                    vf: vfs[p.index].description, index: p.index, type: p.type, framebufferMiB: e?.framebuffer.count,
                    framebufferOffsetMiB: e?.framebuffer.offset, channels: e?.channels, copyEngines: e?.copyEngines,
                    handoff: typed.interface.handoff(r, current: view.assignments[p.index]))
            })
    }
}
