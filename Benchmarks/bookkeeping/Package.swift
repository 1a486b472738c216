// swift-tools-version:6.1
// Bookkeeping at fleet scale: place and release 100,000 VF requests of mixed vGPU types across
// 10,000 GPU books. Run by Benchmarks/bookkeeping/run.sh (release build); not a test.
import PackageDescription

let package = Package(
    name: "bookkeeping-bench",
    dependencies: [.package(name: "vgpuctl", path: "../..")],
    targets: [
        .executableTarget(
            name: "bookkeeping-bench", dependencies: [.product(name: "VGPUBookkeeping", package: "vgpuctl")])
    ]
)
