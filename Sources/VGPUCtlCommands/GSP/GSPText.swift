import GSPMessaging
import HostKit

/// Text renderings of `gsp` results.
enum GSPText {
    static func gmcBoot(_ r: GMCBootReport) -> String {
        var out = [
            "GSP-RM r000_00 booted for \(r.pf) with vGPU \(r.vgpu ? "enabled" : "disabled") (gsp-stub pid \(r.stubPid.map(String.init) ?? "?"); stop it with 'vgpuctl gsp stop \(r.pf)')",
            "Wire format: \(GSPWireFormat.r000_00.summary); queue version \(r.queueVersion)",
            "GMCAPI_CMD_GSP_INIT answered \(r.status); NVKV system info sent: NVGMC_SI_VF_TOTAL_VFS \(r.totalVFs), FIRST_VF_OFFSET \(r.firstVFOffset), FIRST_BAR0..2 \(r.firstVFBarAddresses.map { hex0x($0) }.joined(separator: ", "))",
            "Elements: \(r.elementsToGSP) to GSP, \(r.elementsFromGSP) from GSP",
        ]
        if let g = r.gate {
            out.append(
                "vGPU gate: \(g.architecture.title) chip (\(g.architecture.vgpuGate.source)), TotalVFs \(g.totalVFs) >= \(VGPUGate.minimumTotalVFs), FSP vGPU mode (PRC knob 0x29) \(g.fspVGPUMode.map { $0 ? "enabled" : "disabled" } ?? "not read")"
            )
        }
        return out.joined(separator: "\n")
    }

    static func boot(_ r: VGPUBootReport) -> String {
        var out: [String] = []
        out.append(
            "GSP-RM \(r.firmware) booted for \(r.pf) with vGPU \(r.vgpu ? "enabled" : "disabled") (gsp-stub pid \(r.stubPid.map(String.init) ?? "?"); stop it with 'vgpuctl gsp stop \(r.pf)')"
        )
        out.append("Wire format: \(GSPWireFormat.r570_144.summary)")
        if let p = r.bootPath { out.append("Boot path: \(p)") }
        out.append("")
        out.append("Transcript:")
        out.append(
            renderTable(
                ["DIR", "FUNCTION", "SEQNUM", "LENGTH", "PAGES", "NOTE"],
                r.transcript.map { e in
                    [
                        e.direction.rawValue, e.functionName, String(e.seqNum), hex0x(e.length), String(e.elemCount),
                        [e.rpcResult.flatMap { $0 != 0 ? "rpc_result \(NVStatus.describe($0))" : nil }, e.note]
                            .compactMap { $0 }.joined(separator: "; "),
                    ]
                }))
        out.append("")
        let v = r.vfInfo
        out.append(
            "GSP_VF_INFO sent: totalVFs \(v.totalVFs), firstVFOffset \(v.firstVFOffset), BAR0 \(hex0x(v.firstVFBar0Address))\(v.b64bitBar0 ? " (64-bit)" : ""), BAR1 \(hex0x(v.firstVFBar1Address))\(v.b64bitBar1 ? " (64-bit)" : ""), BAR2 \(hex0x(v.firstVFBar2Address))\(v.b64bitBar2 ? " (64-bit)" : "")"
        )
        if let g = r.gate {
            out.append(
                "vGPU gate: \(g.architecture.title) chip (\(g.architecture.vgpuGate.source)), TotalVFs \(g.totalVFs) >= \(VGPUGate.minimumTotalVFs), FSP vGPU mode (PRC knob 0x29) \(g.fspVGPUMode.map { $0 ? "enabled" : "disabled" } ?? "not read")"
            )
        }
        out.append("Registry: \(r.registry.map(\.description).joined(separator: ", "))")
        out.append(
            "WPR2 heap: \(r.wprHeapMiB) MiB\(r.scrubberRequired ? " (a real boot runs the scrubber on SEC2 first)" : "")"
        )
        if !r.logs.isEmpty {
            out.append("")
            out.append("Log:")
            out += r.logs.map { "  " + $0 }
        }
        let s = r.staticInfo
        out.append("")
        out.append("Static info (GET_GSP_STATIC_INFO):")
        out.append("  GPU: \(s.gpuName) (\(s.gpuShortName)), frame buffer \(s.fbLength >> 20) MiB")
        out.append(
            "  SR-IOV: \(s.sriov.sriovEnabled ? "enabled" : "disabled"), \(s.sriov.totalVFs) VFs, max GFID \(s.sriovMaxGfid), VF BAR sizes \(hex0x(s.sriov.bar0Size))/\(hex0x(s.sriov.bar1Size))/\(hex0x(s.sriov.bar2Size))"
        )
        out.append(
            "  vGPU (bIsVgx): \(s.isVgx ? "yes" : "no"); internal client \(hex0x(s.hInternalClient)), device \(hex0x(s.hInternalDevice)), subdevice \(hex0x(s.hInternalSubdevice))"
        )
        return out.joined(separator: "\n")
    }

    static func dump(_ d: GspMemDump, file: String) -> String {
        var out = ["\(file): GspMem (firmware table \(GSPFirmwareTable.current.version))"]
        for (name, q) in [("Command queue (cpuq)", d.cmdQueue), ("Status queue (gspq)", d.msgQueue)] {
            out.append("")
            if !q.initialized {
                out.append("\(name) at \(hex0x(q.offset)): not initialised (all-zero tx header)")
                continue
            }
            let h = q.header
            out.append(
                "\(name) at \(hex0x(q.offset)): version \(h.version), size \(hex0x(h.size)), msgSize \(hex0x(h.msgSize)), msgCount \(hex0x(h.msgCount)), flags \(h.flags), rxHdrOff \(hex0x(h.rxHdrOff)), entryOff \(hex0x(h.entryOff))"
            )
            out.append(
                "  writePtr \(q.writePtr), consumer readPtr \(q.readPtr): \(q.messages.count) pending message(s)")
            if !q.messages.isEmpty {
                out.append(
                    renderTable(
                        [
                            "  OFFSET", "PAGE", "SEQNUM", "PAGES", "FUNCTION", "LENGTH", "SEQUENCE", "RPC_RESULT",
                            "CHECKSUM",
                        ],
                        q.messages.map { m in
                            [
                                "  " + hex0x(m.fileOffset), String(m.page), String(m.seqNum), String(m.elemCount),
                                "\(m.functionName) (\(m.function))",
                                hex0x(m.length), String(m.sequence), hex0x(m.rpcResult), m.checksumValid ? "ok" : "BAD",
                            ]
                        }))
            }
        }
        return out.joined(separator: "\n")
    }
}
