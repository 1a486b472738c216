import HostKit

/// A VF whose firmware report disagrees with vgpuctl's book or with the VF's BAR sizes.
public struct VFResourceProblem: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, Codable {
        /// Fewer channels than the book's entry promises.
        case channels
        /// Fewer copy engines than the book's entry promises.
        case copyEngines
        /// Two VFs' reported channel ranges overlap.
        case channelOverlap
        /// Two MIG-backed VFs are reported sharing copy engines their GPU instances own alone.
        case copyEngineOverlap
        /// A BAR1 window larger than the VF's BAR1.
        case bar1Size
        /// Two VFs' BAR1 windows overlap.
        case bar1Overlap
    }

    public var kind: Kind
    /// The VF indices it concerns (two for an overlap).
    public var vfs: [Int]
    public var message: String

    public init(_ kind: Kind, vfs: [Int], _ message: String) {
        self.kind = kind
        self.vfs = vfs
        self.message = message
    }

    public var description: String { message }
}

/// Checks what the firmware reports about each VF against the book and the VFs' BARs.
///
/// - Channels and copy engines: the firmware must give a VF at least what the book's entry for
///   its type promises (the channel count, the copy engines), and two VFs' channel ranges must
///   not overlap; MIG-backed VFs own their copy engines, so two of them must not share one.
/// - BAR1: the window must fit in the VF's BAR1 as the VF's sysfs `resource` shows it, and two
///   VFs' windows must not overlap.
///
/// A figure the firmware did not report is not checked.
public enum EngineCheck {
    /// Every problem, VF by VF in index order, then the overlaps. `addresses` names the VFs by
    /// index; `vfBAR1` is each VF's BAR1 (sysfs `resource` line 1).
    public static func problems(
        book: GPUBook, reports: [Int: VFFirmwareReport], addresses: [Int: PCIAddress],
        vfBAR1: [Int: SysfsParse.Resource]
    ) -> [VFResourceProblem] {
        func name(_ r: VFFirmwareReport) -> String {
            "\(addresses[r.vf].map { "\($0) (VF \(r.vf), \(r.type))" } ?? "VF \(r.vf) (\(r.type))")"
        }
        var out: [VFResourceProblem] = []
        let sorted = reports.values.sorted { $0.vf < $1.vf }
        for r in sorted {
            if let e = book.entry(vf: r.vf), e.type == r.type {
                if let c = r.channels, c.count < e.channels.count {
                    out.append(
                        VFResourceProblem(
                            .channels, vfs: [r.vf],
                            "\(name(r)): the firmware reports \(c.count) channels (\(c)), fewer than the \(e.channels.count) the book's \(e.type) entry promises (\(e.channels))"
                        ))
                }
                if let ce = r.copyEngines, ce.count < e.copyEngines.count {
                    out.append(
                        VFResourceProblem(
                            .copyEngines, vfs: [r.vf],
                            "\(name(r)): the firmware reports \(ce.count) copy engine\(ce.count == 1 ? "" : "s") (\(list(ce))), fewer than the \(e.copyEngines.count) the book's \(e.type) entry promises (\(list(e.copyEngines)))"
                        ))
                }
            }
            if let w = r.bar1, let bar = vfBAR1[r.vf], w.size > bar.size {
                out.append(
                    VFResourceProblem(
                        .bar1Size, vfs: [r.vf],
                        "\(name(r)): the firmware's BAR1 window (\(w)) is larger than the VF's BAR1 (\(byteText(bar.size)) at \(busAddressText(bar.start)), its sysfs resource)"
                    ))
            }
        }
        for (i, a) in sorted.enumerated() {
            for b in sorted[(i + 1)...] {
                if let x = a.channels, let y = b.channels, x.overlaps(y) {
                    out.append(
                        VFResourceProblem(
                            .channelOverlap, vfs: [a.vf, b.vf],
                            "\(name(a)) and \(name(b)): the firmware reports overlapping channel ranges \(x) and \(y)"))
                }
                if let x = a.copyEngines, let y = b.copyEngines, book.entry(vf: a.vf)?.isMIG == true,
                    book.entry(vf: b.vf)?.isMIG == true, !Set(x).isDisjoint(with: y)
                {
                    out.append(
                        VFResourceProblem(
                            .copyEngineOverlap, vfs: [a.vf, b.vf],
                            "\(name(a)) and \(name(b)): the firmware gives both copy engine\(Set(x).intersection(y).count == 1 ? "" : "s") \(list(Set(x).intersection(y).sorted())), which each one's GPU instance owns alone"
                        ))
                }
                if let x = a.bar1, let y = b.bar1, x.overlaps(y) {
                    out.append(
                        VFResourceProblem(
                            .bar1Overlap, vfs: [a.vf, b.vf],
                            "\(name(a)) and \(name(b)): the firmware's BAR1 windows overlap (\(x); \(y))"))
                }
            }
        }
        return out
    }

    /// "0, 1" or "none".
    static func list(_ xs: [Int]) -> String { xs.isEmpty ? "none" : xs.map(String.init).joined(separator: ", ") }
}
