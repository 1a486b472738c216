import Foundation

/// The fuzz targets: one function per parser of data vgpuctl does not control. Each must
/// return normally for every input (a trap is a finding). Used by the libFuzzer driver in
/// `Tests/Fuzz` and, for the seed corpus and every past finding, by the unit tests.
public enum FuzzTargets {
    /// Every target by name. A new parser adds its function here.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "configspace": configSpace,
        "uevent": uevent,
        "sysfs": sysfs,
        "hostconfig": hostConfig,
        "egm-retired": egmRetiredPages,
        "gsp-element": gspElement,
        "gsp-decode": gspDecode,
        "gmc-decode": gmcDecode,
        "creatable-types": creatableTypes,
        "mdev-type": mdevType,
        "profile": profile,
        "qmp": qmp,
        "domain-xml": domainXML,
        "control-reply": controlReply,
    ]

    /// Runs target `name` on `bytes`. An unknown name is a setup error: it stops the run.
    public static func run(_ name: String, _ bytes: [UInt8]) {
        guard let f = all[name] else {
            fatalError(
                "VGPUCTL_FUZZ_TARGET='\(name)' is not a fuzz target; known: \(all.keys.sorted().joined(separator: ", "))"
            )
        }
        f(bytes)
    }
}
