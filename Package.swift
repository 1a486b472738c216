// swift-tools-version:6.1
import PackageDescription

/// vgpuctl: hand NVIDIA GPUs to virtual machines, whole (VFIO passthrough, Grace + EGM) or as
/// SR-IOV virtual functions with vGPU types. Layers and seams: see DESIGN in the shared docs and
/// ROADMAP.md.
let package = Package(
    name: "vgpuctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vgpuctl", targets: ["vgpuctl"]),
        .executable(name: "gsp-stub", targets: ["gsp-stub"]),
        // For the fuzz package in Tests/Fuzz (built with libFuzzer, outside the normal build).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
        // For the bookkeeping benchmark in Benchmarks/bookkeeping.
        .library(name: "VGPUBookkeeping", targets: ["VirtualFunctions", "GPUModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
        // C mirror of the EGM retired-pages UAPI (not in any released kernel) and its ioctl.
        .target(name: "CEGM"),

        // GPU and host models as data, shared by the simulator and the firmware stub.
        .target(
            name: "GPUModels",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "firmware-stubs/models",
            exclude: ["README.md"],
            resources: [.copy("hosts"), .copy("gpus"), .copy("drivers.yaml"), .copy("vgpu")]
        ),

        // The stable core.
        .target(
            name: "HostKit",
            dependencies: [
                "CPCI", "CUdev", "CMnl", "CEGM",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "HostSim",
            dependencies: ["HostKit", "GPUModels", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Passthrough",
            dependencies: ["HostKit", .product(name: "SystemPackage", package: "swift-system")]
        ),

        .target(
            name: "Hypervisor",
            dependencies: ["HostKit", "Passthrough", .product(name: "SystemPackage", package: "swift-system")]
        ),

        .target(
            name: "Reconcile",
            dependencies: [
                "HostKit", "Passthrough", "VirtualFunctions", .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),

        // Staging: modules that follow the upstream vGPU plan (see ROADMAP.md).
        .target(name: "CGSPMessaging", path: "staging/CGSPMessaging"),
        .target(
            name: "GSPMessaging",
            dependencies: ["HostKit", "CGSPMessaging", .product(name: "SystemPackage", package: "swift-system")],
            path: "staging/GSPMessaging"
        ),

        .target(
            name: "VirtualFunctions",
            dependencies: [
                "HostKit", "GPUModels", "GSPMessaging", "ControlChannel", .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "staging/VirtualFunctions"
        ),

        // The parsers of untrusted input, as fuzz targets (Tests/Fuzz) and regression tests.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "HostKit", "Reconcile", "GSPMessaging", "VirtualFunctions", "GPUModels", "Hypervisor", "ControlChannel",
            ]),

        .target(name: "CControlChannel", path: "staging/CControlChannel"),
        .target(
            name: "ControlChannel",
            dependencies: [
                "HostKit", "GSPMessaging", "CControlChannel", .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "staging/ControlChannel"
        ),

        // Firmware stand-ins.
        .executableTarget(
            name: "gsp-stub",
            dependencies: ["GSPMessaging", "ControlChannel", "GPUModels", "HostKit", "HostSim"],
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
                "Fleet", "DevicePlugin", "HostKit", "HostSim", "GPUModels", "Passthrough", "Hypervisor", "GSPMessaging",
                "ControlChannel", "VirtualFunctions", "Reconcile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "vgpuctl", dependencies: ["VGPUCtlCommands"]),

        // Tests.
        .target(name: "TestSupport", dependencies: ["HostKit", "HostSim"], path: "Tests/TestSupport"),
        .testTarget(name: "HostKitTests", dependencies: ["HostKit", "HostSim", "TestSupport"]),
        .testTarget(name: "HostSimTests", dependencies: ["HostKit", "HostSim", "GPUModels", "TestSupport"]),
        .testTarget(
            name: "VGPUCtlTests",
            dependencies: [
                "vgpuctl", "Fleet", "DevicePlugin", "HostKit", "HostSim", "TestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(name: "RealKernelTests", dependencies: ["vgpuctl", "TestSupport"]),
        .testTarget(
            name: "HypervisorTests",
            dependencies: ["Hypervisor", "Passthrough", "HostKit", "HostSim", "TestSupport", "vgpuctl"]),
        .testTarget(
            name: "VirtualFunctionsTests",
            dependencies: [
                "VirtualFunctions", "ControlChannel", "GSPMessaging", "HostKit", "HostSim", "GPUModels", "TestSupport",
                "vgpuctl",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "ReconcileTests",
            dependencies: ["Reconcile", "Passthrough", "HostKit", "HostSim", "TestSupport", "vgpuctl"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(
            name: "ControlChannelTests",
            dependencies: [
                "ControlChannel", "GSPMessaging", "gsp-stub", "HostKit", "HostSim", "TestSupport", "vgpuctl",
            ]),
        .testTarget(name: "PassthroughTests", dependencies: ["Passthrough", "HostKit", "HostSim", "TestSupport"]),
        .testTarget(
            name: "GSPMessagingTests", dependencies: ["GSPMessaging", "gsp-stub", "HostKit", "HostSim", "TestSupport"]),
    ]
)
