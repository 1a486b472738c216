import Foundation
import TestSupport
import Testing

/// The package's module graph, read from `swift package dump-package`, against the layer order
/// in ARCHITECTURE.md: every arrow points down, and the stable core (`Sources/`) never reaches
/// into `staging/` or `firmware-stubs/` (only the CLI edge wires those in).
@Suite struct LayerTests {
    /// ARCHITECTURE.md's layers, lowest first. A target may depend only on targets of a lower
    /// layer; a new target must be placed here before the test passes.
    static let layers: [(name: String, targets: [String])] = [
        ("C bridges", ["CPCI", "CUdev", "CMnl", "CDirent", "CEGM", "CGSPMessaging", "CControlChannel"]),
        ("host access", ["HostKit"]),
        ("seams and data", ["VGPUTypes", "GPUModels"]),
        ("features, stage 1, simulated GPU state", ["Passthrough", "NVGraceEGM", "GSPMessaging", "SimGPU"]),
        ("guests, stage 2, simulated host", ["Hypervisor", "ControlChannel", "HostSim"]),
        ("reconciler, stage 3, firmware stub", ["Reconcile", "VirtualFunctions", "gsp-stub"]),
        ("fleet view", ["Fleet"]),
        ("device plugin", ["DevicePlugin"]),
        ("CLI edge", ["VGPUCtlCommands"]),
        ("executable", ["vgpuctl"]),
        ("test support", ["FuzzTargets", "TestSupport"]),
    ]

    /// The edge: the one place in `Sources/` that wires `staging/` and `firmware-stubs/` in.
    static let edge: Set<String> = ["VGPUCtlCommands", "vgpuctl"]

    struct Target {
        var name: String
        var path: String
        var isTest: Bool
        var dependencies: [String]
    }

    /// Every broken rule, one sentence each; empty when the graph is sound.
    static func violations(_ targets: [Target]) -> [String] {
        var rank: [String: Int] = [:]
        for (i, layer) in layers.enumerated() { for t in layer.targets { rank[t] = i } }
        let byName = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func folder(_ t: Target) -> String { String(t.path.split(separator: "/").first ?? "") }
        var out: [String] = []
        for t in targets {
            let known = t.dependencies.filter { byName[$0] != nil }
            if t.isTest { continue }  // tests sit above everything
            guard let r = rank[t.name] else {
                out.append(
                    "\(t.name) (\(t.path)) is in no layer of LayerTests.layers; place it (and in ARCHITECTURE.md)")
                continue
            }
            for d in known {
                guard let dt = byName[d] else { continue }
                if dt.isTest { out.append("\(t.name) depends on the test target \(d)") }
                if let dr = rank[d], dr >= r {
                    out.append(
                        "\(t.name) (\(layers[r].name)) depends on \(d) (\(layers[dr].name)), which is not below it")
                }
                if folder(t) == "Sources", !edge.contains(t.name),
                    folder(dt) == "staging" || folder(dt) == "firmware-stubs"
                {
                    out.append("\(t.name) (Sources/) depends on \(d) (\(dt.path)); only the CLI edge wires those in")
                }
                if folder(t) == "staging", folder(dt) == "firmware-stubs" {
                    out.append("\(t.name) (staging/) depends on \(d) (\(dt.path)), a stand-in")
                }
            }
        }
        return out
    }

    /// The targets of a `dump-package` document.
    static func targets(_ json: Data) throws -> [Target] {
        let top = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let list = try #require(top["targets"] as? [[String: Any]], "dump-package has no targets")
        return try list.map { t in
            let name = try #require(t["name"] as? String)
            let type = t["type"] as? String ?? "regular"
            let isTest = type == "test"
            let path = (t["path"] as? String) ?? ((isTest ? "Tests/" : "Sources/") + name)
            let deps = (t["dependencies"] as? [[String: Any]] ?? []).compactMap { d -> String? in
                // Products of other packages are outside the graph; targets are byName or target.
                ((d["byName"] ?? d["target"]) as? [Any])?.first as? String
            }
            return Target(name: name, path: path, isTest: isTest, dependencies: deps)
        }
    }

    static func swiftExecutable() throws -> String {
        if let s = TestSupport.which("swift") { return s }
        let opt = "/opt/swift/usr/bin/swift"
        try #require(
            FileManager.default.isExecutableFile(atPath: opt),
            "no swift on PATH nor at \(opt): the layer check needs `swift package dump-package`")
        return opt
    }

    @Test func everyArrowPointsDownAndTheCoreNeverReachesIntoStagingOrStubs() throws {
        let scratch = TestSupport.tempDir("dump-package")
        let r = try TestSupport.run(
            try Self.swiftExecutable(),
            ["package", "--package-path", TestSupport.repositoryDirectory, "--scratch-path", scratch, "dump-package"],
            timeout: 300)
        try #require(r.status == 0, "swift package dump-package failed: \(r.stderr)")
        let targets = try Self.targets(Data(r.stdout.utf8))
        // The graph was read: the core and the edge are there.
        #expect(Set(targets.map(\.name)).isSuperset(of: ["HostKit", "VGPUTypes", "Reconcile", "VGPUCtlCommands"]))
        let v = Self.violations(targets)
        #expect(v.isEmpty, "\(v.joined(separator: "\n"))")
    }

    /// The checker itself: each rule catches the edge it is about.
    @Test func theCheckerCatchesBadEdges() {
        func t(_ n: String, _ p: String, _ d: [String]) -> Target {
            Target(name: n, path: p, isTest: false, dependencies: d)
        }
        let base = [
            t("HostKit", "Sources/HostKit", []), t("VGPUTypes", "Sources/VGPUTypes", ["HostKit"]),
            t("GPUModels", "firmware-stubs/models", []), t("Passthrough", "Sources/Passthrough", ["HostKit"]),
            t("VirtualFunctions", "staging/VirtualFunctions", ["HostKit", "VGPUTypes"]),
            t("Reconcile", "Sources/Reconcile", ["Passthrough", "VGPUTypes"]),
        ]
        #expect(Self.violations(base).isEmpty, "\(Self.violations(base))")
        var up = base
        up[0].dependencies = ["Passthrough"]
        #expect(
            Self.violations(up) == [
                "HostKit (host access) depends on Passthrough (features, stage 1, simulated GPU state), which is not below it"
            ])
        var staging = base
        staging[5].dependencies.append("VirtualFunctions")
        #expect(
            Self.violations(staging).contains(
                "Reconcile (Sources/) depends on VirtualFunctions (staging/VirtualFunctions); only the CLI edge wires those in"
            ))
        var stub = base
        stub[4].dependencies.append("GPUModels")
        #expect(
            Self.violations(stub) == [
                "VirtualFunctions (staging/) depends on GPUModels (firmware-stubs/models), a stand-in"
            ])
        #expect(Self.violations(base + [t("Newcomer", "Sources/Newcomer", [])]).count == 1)
    }
}
