// swift-tools-version:6.1
// libFuzzer targets for every parser of data vgpuctl does not control. Built and run by
// Tests/Fuzz/run.sh with `-sanitize=fuzzer,address`; not part of the normal build.
import PackageDescription

let package = Package(
    name: "vgpuctl-fuzz",
    dependencies: [.package(name: "vgpuctl", path: "../..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "vgpuctl-fuzz",
            dependencies: [
                "CFuzzDriver",
                .product(name: "FuzzTargets", package: "vgpuctl"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
