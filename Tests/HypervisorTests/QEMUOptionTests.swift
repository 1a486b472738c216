import Foundation
import HostKit
import Hypervisor
import Testing

/// QEMU option text: escaping, JSON, ids, versions, and capability detection from recorded
/// outputs of QEMU binaries.
@Suite struct QEMUOptionTests {
    @Test func keyvalDoublesCommasAndJSONIsTyped() {
        let o = QEMUOption(
            "-device", "vfio-pci",
            [
                .init("sysfsdev", .string("/a,b/c")), .init("rombar", .int(0)), .init("multifunction", .bool(true)),
                .init("id", .string("x\"y")),
            ])
        #expect(o.keyvalText == "vfio-pci,sysfsdev=/a,,b/c,rombar=0,multifunction=on,id=x\"y")
        #expect(
            o.jsonDeviceText
                == #"{"driver":"vfio-pci","sysfsdev":"/a,b/c","rombar":0,"multifunction":true,"id":"x\"y"}"#)
        #expect(o.arguments(deviceJSON: true) == ["-device", o.jsonDeviceText])
        let n = QEMUOption("-numa", "node", [.init("nodeid", .int(2))])
        #expect(n.arguments(deviceJSON: true) == ["-numa", "node,nodeid=2"], "only -device switches to JSON")
    }

    @Test func idsAreStableAndValid() {
        let a = PCIAddress("0000:00:03.2")!
        #expect(QEMUDeviceID.hostdev(a) == "hostdev-0000-00-03.2")
        #expect(
            QEMUDeviceID.hostdev(mdev: "C2177883-F1BB-47F0-914D-32A22E3A8804")
                == "hostdev-c2177883-f1bb-47f0-914d-32a22e3a8804")
        #expect(QEMUDeviceID.isValid("pcie.0") && QEMUDeviceID.isValid("hostdev-0000-00-03.2"))
        #expect(!QEMUDeviceID.isValid("0bus") && !QEMUDeviceID.isValid("a,b") && !QEMUDeviceID.isValid(""))
    }

    @Test func versions() {
        #expect(
            QEMUVersion.fromVersionOutput("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright")
                == QEMUVersion(7, 2, 22))
        #expect(QEMUVersion("9.2") == QEMUVersion(9, 2, 0))
        #expect(QEMUVersion("9.2")! > QEMUVersion("9.0.4")!)
        #expect(QEMUVersion("nine") == nil && QEMUVersion("9") == nil && QEMUVersion("9.2.0.1") == nil)
    }

    /// Outputs recorded from QEMU binaries (7.2 from this machine; the 9.x lines as 9.2 prints them).
    struct Recorded: CommandRunner {
        var version: String
        var devices: String
        var objects: String
        var jsonAware: Bool
        func run(_ executable: String, _ arguments: [String]) throws(HypervisorError) -> (
            status: Int32, stdout: String, stderr: String
        ) {
            switch arguments.first {
            case "-version":
                return (
                    0,
                    "QEMU emulator version \(version)\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers\n",
                    ""
                )
            case "-device": return (0, devices, "")
            case "-object": return (0, objects, "")
            default:
                let probe = arguments.last ?? ""
                let named = jsonAware ? "vgpuctl-probe-json-device" : probe
                return (1, "", "qemu-system-aarch64: -device \(probe): '\(named)' is not a valid device model name\n")
            }
        }
    }

    @Test func detectionReadsHelpOutput() throws {
        let devices = """
            Misc devices:
            name "vfio-pci", bus PCI, desc "VFIO-based PCI device assignment"
            name "vfio-pci-nohotplug", bus PCI, desc "VFIO-based PCI device assignment"
            """
        let objects92 = "List of user creatable objects:\n  acpi-generic-initiator\n  iommufd\n  memory-backend-file\n"
        let q92 = try QEMUCapabilities.detect(
            binary: "/opt/qemu-9.2/bin/qemu-system-aarch64",
            runner: Recorded(version: "9.2.0", devices: devices, objects: objects92, jsonAware: true))
        #expect(q92.version == QEMUVersion(9, 2, 0))
        for f in QEMUFeature.allCases { #expect(q92.supports(f) == true, "\(f)") }
        let old = try QEMUCapabilities.detect(
            binary: "/old/qemu",
            runner: Recorded(
                version: "6.1.0", devices: devices, objects: "List of user creatable objects:\n  memory-backend-file\n",
                jsonAware: false))
        #expect(
            old.supports(.jsonDevice) == false && old.supports(.iommufd) == false
                && old.supports(.vfioPCINoHotplug) == true)
        #expect {
            try old.require(.acpiGenericInitiator, for: "the test needs")
        } throws: { e in
            (e as? HypervisorError)?.message
                == "QEMU 6.1.0 at /old/qemu has no acpi-generic-initiator object, which the test needs; QEMU 9.0 adds it: use a QEMU >= 9.0 (--qemu PATH) or plan for one with --qemu-version"
        }
        // No QEMU at all: only vfio-pci is taken for granted.
        let none = QEMUCapabilities(source: .none(searched: "qemu-system-x86_64"), version: nil)
        #expect(throws: Never.self) { try none.require(.vfioPCI, for: "x") }
        #expect {
            try none.require(.vfioPCINoHotplug, for: "a Grace GPU needs")
        } throws: { e in ((e as? HypervisorError)?.message ?? "").contains("no qemu-system-x86_64 on PATH") }
    }
}
