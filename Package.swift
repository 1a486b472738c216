// swift-tools-version:6.1
import PackageDescription

/// vgpuctl: hand NVIDIA GPUs to virtual machines, whole (VFIO passthrough, Grace + EGM) or as
/// SR-IOV virtual functions with vGPU types. Layers, seams and which way the arrows point:
/// ARCHITECTURE.md (checked by Tests/VGPUCtlTests/LayerTests.swift); module status: ROADMAP.md.
let package = Package(
    name: "vgpuctl",
    products: [
        .executable(name: "vgpuctl", targets: ["vgpuctl"]),
        .executable(name: "gsp-stub", targets: ["gsp-stub"]),
        // For the fuzz package in Tests/Fuzz (built with libFuzzer, outside the normal build).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        // For the bookkeeping benchmark in Benchmarks/bookkeeping.
        .library(name: "VGPUBookkeeping", targets: ["VirtualFunctions", "VGPUTypes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // gRPC for the Kubernetes device plugin (one target: DevicePlugin).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(name: "CPCI", pkgConfig: "libpci", providers: [.apt(["libpci-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        // getdents64(2) for HostKit's directory reads (a header; nothing to link).
        .systemLibrary(name: "CDirent"),

        // GPU and host models as data, shared by the simulator and the firmware stub.
        .target(
            name: "GPUModels",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "firmware-stubs/models",
            exclude: ["README.md"],
            resources: [.copy("hosts"), .copy("gpus"), .copy("drivers.yaml")]
        ),

        // The stable core.
        .target(
            name: "HostKit",
            dependencies: [
                "CPCI", "CUdev", "CMnl", "CDirent", .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The vGPU seam the core owns: the backend protocol, its value types, the profile catalog.
        .target(
            name: "VGPUTypes",
            dependencies: ["HostKit", .product(name: "Yams", package: "Yams")],
            exclude: ["README.md"],
            resources: [.copy("vgpu")]
        ),
        .target(name: "Passthrough", dependencies: ["HostKit"]),

        .target(name: "Hypervisor", dependencies: ["HostKit", "Passthrough"]),

        .target(
            name: "Reconcile",
            dependencies: ["HostKit", "Passthrough", "VGPUTypes", .product(name: "Yams", package: "Yams")]
        ),

        // Staging: modules that follow the upstream vGPU plan (see ROADMAP.md).
        // C mirror of the EGM retired-pages UAPI (an RFC, not in any released kernel) and its ioctl,
        // and the EGM device over it (implements HostKit's EGMRetiredPagesSource).
        .target(name: "CEGM", path: "staging/CEGM"),
        .target(
            name: "NVGraceEGM",
            dependencies: ["HostKit", "CEGM", .product(name: "SystemPackage", package: "swift-system")],
            path: "staging/NVGraceEGM"
        ),
        .target(name: "CGSPMessaging", path: "staging/CGSPMessaging"),
        .target(
            name: "GSPMessaging",
            dependencies: ["HostKit", "CGSPMessaging", .product(name: "SystemPackage", package: "swift-system")],
            path: "staging/GSPMessaging"
        ),

        .target(
            name: "VirtualFunctions",
            dependencies: [
                "HostKit", "VGPUTypes", "ControlChannel", .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "staging/VirtualFunctions"
        ),

        // The parsers of untrusted input, as fuzz targets (Tests/Fuzz) and regression tests.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "HostKit", "Reconcile", "GSPMessaging", "VirtualFunctions", "VGPUTypes", "Hypervisor", "ControlChannel",
                "NVGraceEGM",
            ],
            path: "Tests/FuzzTargets"
        ),

        .target(name: "CControlChannel", path: "staging/CControlChannel"),
        .target(
            name: "ControlChannel",
            dependencies: [
                "HostKit", "GSPMessaging", "CControlChannel", .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "staging/ControlChannel"
        ),

        // Stand-ins for firmware and hardware (never wired into a library; the CLI edge and the
        // tests use them). The simulated GPUs' state that the simulated host and the firmware
        // stub share (vGPU bookkeeping, FSP knobs, the sim marker):
        .target(
            name: "SimGPU",
            dependencies: [
                "HostKit", "GPUModels", "VGPUTypes", .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "firmware-stubs/SimGPU",
            exclude: ["README.md"]
        ),
        // A simulated host: the tree writer and the simulated kernel.
        .target(
            name: "HostSim",
            dependencies: [
                "HostKit", "GPUModels", "VGPUTypes", "SimGPU", .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "firmware-stubs/HostSim"
        ),
        .executableTarget(
            name: "gsp-stub",
            dependencies: ["GSPMessaging", "ControlChannel", "GPUModels", "VGPUTypes", "HostKit", "SimGPU"],
            path: "firmware-stubs/gsp-stub"
        ),

        // What fleet engines (the kubelet, Nova) see of a host: devices, resource names, settings.
        .target(name: "Fleet", dependencies: ["HostKit", "Reconcile"]),
        // The kubelet device plugin (gRPC). Generated code in Generated/ (contrib/devel/generate-deviceplugin-proto.sh).
        .target(
            name: "DevicePlugin",
            dependencies: [
                "Fleet", "HostKit",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Proto"]
        ),

        .target(
            name: "VGPUCtlCommands",
            dependencies: [
                "Fleet", "DevicePlugin", "HostKit", "HostSim", "SimGPU", "GPUModels", "VGPUTypes", "Passthrough",
                "Hypervisor",
                "GSPMessaging", "ControlChannel", "VirtualFunctions", "NVGraceEGM", "Reconcile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "vgpuctl", dependencies: ["VGPUCtlCommands"]),

        // Tests.
        .target(name: "TestSupport", dependencies: ["HostKit", "HostSim"], path: "Tests/TestSupport"),
        .testTarget(name: "HostKitTests", dependencies: ["HostKit", "TestSupport"]),
        .testTarget(name: "HostSimTests", dependencies: ["HostKit", "HostSim", "GPUModels", "TestSupport"]),
        .testTarget(
            name: "VGPUCtlTests",
            dependencies: [
                "vgpuctl", "VGPUCtlCommands", "Fleet", "DevicePlugin", "HostKit", "HostSim", "TestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(name: "RealKernelTests", dependencies: ["vgpuctl", "TestSupport"]),
        .testTarget(
            name: "HypervisorTests",
            dependencies: ["Hypervisor", "Passthrough", "HostKit", "HostSim", "SimGPU", "TestSupport", "vgpuctl"]),
        .testTarget(
            name: "VirtualFunctionsTests",
            dependencies: [
                "VirtualFunctions", "VGPUTypes", "ControlChannel", "GSPMessaging", "HostKit", "HostSim", "SimGPU",
                "TestSupport",
                "vgpuctl",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "ReconcileTests",
            dependencies: ["Reconcile", "Passthrough", "HostKit", "HostSim", "TestSupport", "vgpuctl"]),
        .testTarget(name: "NVGraceEGMTests", dependencies: ["NVGraceEGM", "HostKit", "TestSupport"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(
            name: "ControlChannelTests",
            dependencies: [
                "ControlChannel", "GSPMessaging", "gsp-stub", "HostKit", "HostSim", "SimGPU", "TestSupport", "vgpuctl",
            ]),
        .testTarget(name: "PassthroughTests", dependencies: ["Passthrough", "HostKit", "HostSim", "TestSupport"]),
        .testTarget(
            name: "GSPMessagingTests", dependencies: ["GSPMessaging", "gsp-stub", "HostKit", "TestSupport"]),
    ]
)
