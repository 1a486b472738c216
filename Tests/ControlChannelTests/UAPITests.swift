import CControlChannel
import ControlChannel
import Foundation
import SystemPackage
import TestSupport
import Testing

/// The fwctl UAPI and the provisional nova-core structs: the Swift constants against the C
/// mirror (whose `_Static_assert`s pin the numbers), and the structs byte by byte.
@Suite struct UAPITests {
    @Test func ioctlNumbersScopesAndDeviceTypes() {
        #expect(Fwctl.type == 0x9A)
        #expect(Fwctl.info == 0x9A00 && Fwctl.rpc == 0x9A01)
        #expect(Fwctl.maxRPCLength == 2 * 1024 * 1024)
        #expect(FwctlScope.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(
            FwctlScope.allCases.map(\.kernelName) == [
                "FWCTL_RPC_CONFIGURATION", "FWCTL_RPC_DEBUG_READ_ONLY", "FWCTL_RPC_DEBUG_WRITE",
                "FWCTL_RPC_DEBUG_WRITE_FULL",
            ])
        #expect(FwctlScope.allCases.map(\.taintsKernel) == [false, false, true, true])
        #expect(FwctlScope.allCases.map(\.needsRawIO) == [false, false, false, true])
        #expect([FwctlDeviceType.error, .mlx5, .cxl, .bnxt, .pds, .novaCore].map(\.rawValue) == [0, 1, 2, 3, 4, 8])
        #expect(FwctlDeviceType(rawValue: 8).name == "NOVA_CORE" && FwctlDeviceType(rawValue: 99).name == "UNKNOWN")
    }

    @Test func structSizesAndOffsetsAgreeWithTheCMirror() {
        #expect(MemoryLayout<fwctl_info>.size == 24 && Fwctl.infoSize == 24)
        #expect(MemoryLayout<fwctl_info>.offset(of: \fwctl_info.out_device_type) == 8)
        #expect(MemoryLayout<fwctl_info>.offset(of: \fwctl_info.device_data_len) == 12)
        #expect(MemoryLayout<fwctl_info>.offset(of: \fwctl_info.out_device_data) == 16)
        #expect(MemoryLayout<fwctl_rpc>.size == 32 && Fwctl.rpcSize == 32)
        #expect(MemoryLayout<fwctl_rpc>.offset(of: \fwctl_rpc.scope) == 4)
        #expect(MemoryLayout<fwctl_rpc>.offset(of: \fwctl_rpc.in_len) == 8)
        #expect(MemoryLayout<fwctl_rpc>.offset(of: \fwctl_rpc.out_len) == 12)
        #expect(MemoryLayout<fwctl_rpc>.offset(of: \fwctl_rpc.in) == 16)
        #expect(MemoryLayout<fwctl_rpc>.offset(of: \fwctl_rpc.out) == 24)
        // nova-core and GMC API (provisional), as NovaCoreTable lists them.
        #expect(MemoryLayout<fwctl_rpc_nova_core>.size == NovaCoreTable.headerSize)
        #expect(MemoryLayout<gmcapi_add_vgpu_type_payload_hdr>.size == NovaCoreTable.Size.addTypePrefix)
        #expect(
            MemoryLayout<gmcapi_add_vgpu_type_payload_hdr>.offset(of: \gmcapi_add_vgpu_type_payload_hdr.params)
                == NovaCoreTable.buildVersionLength)
        #expect(MemoryLayout<GmcapiAssignVgpuTypeInParams>.size == NovaCoreTable.Size.assignParams)
        #expect(MemoryLayout<GmcapiAssignVgpuTypeInParams>.offset(of: \GmcapiAssignVgpuTypeInParams.vgpuTypeId) == 8)
        #expect(MemoryLayout<GmcapiAssignVgpuTypeInParams>.offset(of: \GmcapiAssignVgpuTypeInParams.placementId) == 16)
        #expect(MemoryLayout<vgpuctl_assign_ext>.size == NovaCoreTable.Size.assignExtension)
        #expect(MemoryLayout<GmcapiDeassignVgpuTypeInParams>.size == NovaCoreTable.Size.vfParams)
        #expect(MemoryLayout<GmcapiQueryAssignedVfVgpuTypeInParams>.size == NovaCoreTable.Size.vfParams)
        #expect(MemoryLayout<GmcapiQueryVgpuPropertiesInParams>.size == NovaCoreTable.Size.propertiesParams)
        #expect(MemoryLayout<GmcapiQueryAssignedVfVgpuTypeOutParams>.size == NovaCoreTable.Size.assignedReply)
        #expect(
            MemoryLayout<GmcapiQueryAssignedVfVgpuTypeOutParams>.offset(
                of: \GmcapiQueryAssignedVfVgpuTypeOutParams.placementId) == 8)
        #expect(MemoryLayout<vgpuctl_assigned_vf_ext>.size == NovaCoreTable.Size.assignedExtension)
        #expect(MemoryLayout<vgpuctl_assigned_vf_engines>.size == NovaCoreTable.Size.assignedEngines)
        #expect(MemoryLayout<vgpuctl_assigned_vf_engines>.offset(of: \vgpuctl_assigned_vf_engines.bar1Address) == 8)
        #expect(MemoryLayout<vgpuctl_fwctl_info_nova_core>.size == NovaCoreTable.infoSize)
        #expect(MemoryLayout<NV2080_CTRL_VGPUCTL_FWCTL_RPC_PARAMS>.size == NovaCoreTable.stubControlHeaderSize)
        #expect(MemoryLayout<NV0080_ALLOC_PARAMETERS>.size == 56 && MemoryLayout<NV2080_ALLOC_PARAMETERS>.size == 4)
        #expect(MemoryLayout<NV0000_ALLOC_PARAMETERS>.size == 108)
    }

    @Test func fwctlInfoBytes() {
        let info = Fwctl.infoRequest(deviceDataLength: 0x100, deviceData: 0x0000_7F12_3456_7000)
        #expect(
            Fwctl.bytes(of: info)
                == annotatedHex(
                    """
                    00: 18 00 00 00  // size = sizeof(struct fwctl_info) = 24
                    04: 00 00 00 00  // flags = 0
                    08: 00 00 00 00  // out_device_type (out)
                    0c: 00 01 00 00  // device_data_len = 256
                    10: 00 70 56 34 12 7f 00 00  // out_device_data
                    """))
    }

    @Test func fwctlRPCBytes() {
        let rpc = Fwctl.rpcRequest(
            scope: .debugWrite, inLength: 0x20, outLength: 0x4008,
            input: 0x1122_3344_5566_7788, output: 0x0102_0304_0506_0708)
        #expect(
            Fwctl.bytes(of: rpc)
                == annotatedHex(
                    """
                    00: 20 00 00 00  // size = sizeof(struct fwctl_rpc) = 32
                    04: 02 00 00 00  // scope = FWCTL_RPC_DEBUG_WRITE
                    08: 20 00 00 00  // in_len
                    0c: 08 40 00 00  // out_len
                    10: 88 77 66 55 44 33 22 11  // in
                    18: 08 07 06 05 04 03 02 01  // out
                    """))
    }

    /// The real ioctl(2) path: /dev/null is no fwctl device, and the kernel says so (ENOTTY).
    @Test func realIoctlOnANonFwctlFile() throws {
        let t = FwctlIoctlTransport(file: try FwctlDeviceFile.open("/dev/null"))
        defer { t.close() }
        do {
            _ = try t.info()
            Issue.record("FWCTL_INFO on /dev/null succeeded")
        } catch {
            guard case .call(let f) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(f.errno == .inappropriateIOCTLForDevice && f.call == "FWCTL_INFO")
            #expect(
                error.description
                    == "/dev/null refused FWCTL_INFO with ENOTTY: the ioctl is unknown to the device's driver; it is not a fwctl device"
            )
        }
        #expect(throws: ControlChannelError.self) {
            _ = try t.rpc(scope: .configuration, request: ManagementRequest.querySupported.encoded, room: 64)
        }
    }
}
