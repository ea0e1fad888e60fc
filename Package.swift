// swift-tools-version:6.1
//
// Gannet: a userspace virtual switch and distributed virtual router data plane.
//
// Module layering (an arrow means "imports"):
//
//   Wire  <-  Tables  <-  Pipeline  <-  executables
//     ^                     |   ^
//     +---- Buffers  <------+   |
//              ^                |
//              +------ IO  -----+
//
// * Wire: header views, addresses, checksums, DropReason. No threads, no I/O.
// * Tables: FDB and other lookup tables, QSBR reclamation, RCU publication.
// * Buffers: the packet descriptor, packet vectors and buffer pools (native and mbuf).
// * IO: port backends (DPDK, AF_PACKET, pcap replay/writer, memory) behind one burst API.
// * Pipeline: graph nodes (one per file), the graph runner, counters, the worker loop.
// * Control: configuration and control-plane request types shared by daemon and CLI.
import PackageDescription

// SwiftPM cannot read Debian's libdpdk.pc (see shared/PLATFORM.md), so the include paths
// are given here. Every Swift module that (transitively) sees a DPDK header needs them too,
// because @inlinable code carries the C calls across module boundaries.
let dpdkInclude = ["-I/usr/include/dpdk", "-I/usr/include/x86_64-linux-gnu/dpdk"]
var dpdkCFlags = dpdkInclude
dpdkCFlags += ["-include", "rte_config.h", "-march=corei7"]
var dpdkSwiftFlags: [String] = []
for f in dpdkInclude { dpdkSwiftFlags += ["-Xcc", f] }
dpdkSwiftFlags += ["-Xcc", "-include", "-Xcc", "rte_config.h", "-Xcc", "-march=corei7"]

let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .unsafeFlags(dpdkSwiftFlags),
]

let package = Package(
  name: "Gannet",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "gannetd", targets: ["gannetd"]),
    .executable(name: "gannetctl", targets: ["gannetctl"]),
    .executable(name: "gannet-agent", targets: ["gannet-agent"]),
    .executable(name: "gannet-bench", targets: ["gannet-bench"]),
    .executable(name: "gannet-io", targets: ["gannet-io"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
  ],
  targets: [
    // ---- C shims: thin, prefixed, no policy -------------------------------------------
    .target(
      name: "CDPDKShim", path: "CShims/CDPDKShim",
      cSettings: [.unsafeFlags(dpdkCFlags)],
      linkerSettings: [
        .linkedLibrary("rte_ethdev"), .linkedLibrary("rte_mbuf"), .linkedLibrary("rte_mempool"),
        .linkedLibrary("rte_ring"), .linkedLibrary("rte_bus_vdev"), .linkedLibrary("rte_eal"), .linkedLibrary("rte_kvargs"),
      ]),
    .target(name: "CAFPacketShim", path: "CShims/CAFPacketShim"),
    .target(name: "CPcapShim", path: "CShims/CPcapShim", linkerSettings: [.linkedLibrary("pcap")]),
    .target(name: "CNumaShim", path: "CShims/CNumaShim", linkerSettings: [.linkedLibrary("numa")]),

    // ---- libraries --------------------------------------------------------------------
    .target(name: "Wire", swiftSettings: swiftSettings),
    .target(name: "Tables", dependencies: ["Wire"], swiftSettings: swiftSettings),
    .target(name: "Buffers", dependencies: ["Wire", "CDPDKShim", "CNumaShim"], swiftSettings: swiftSettings),
    .target(
      name: "IO", dependencies: ["Wire", "Buffers", "CDPDKShim", "CAFPacketShim", "CPcapShim", "CNumaShim"],
      swiftSettings: swiftSettings),
    .target(name: "Pipeline", dependencies: ["Wire", "Tables", "Buffers", "IO", "CDPDKShim", "CPcapShim"], swiftSettings: swiftSettings),
    .target(name: "Control", dependencies: ["Wire"], swiftSettings: swiftSettings),
    // What gannetctl prints: the typed replies rendered as operators read them.
    .target(name: "ControlText", dependencies: ["Control"], swiftSettings: swiftSettings),
    // The one compiler from the control state (Control's object model) to snapshot tables
    // (Pipeline's configs): pure, no I/O.
    .target(name: "Compiler", dependencies: ["Control", "Pipeline", "IO", "Tables", "Wire"], swiftSettings: swiftSettings),
    // gannetd's config file and state file: loading, checking, atomic saving.
    .target(name: "NodeConfig", dependencies: ["Control", "IO", "Tables", "Wire"], swiftSettings: swiftSettings),
    // The cloud's desired state in etcd (v3 JSON gateway through AsyncHTTPClient): key layout,
    // what one node is programmed with, and validated writes (`gannetctl --cloud`).
    .target(name: "Cloud", dependencies: ["Control", "Wire", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings),

    // ---- executables ------------------------------------------------------------------
    .executableTarget(
      name: "gannetd",
      dependencies: ["Pipeline", "Compiler", "Control", "NodeConfig", "Buffers", "Tables", "CNumaShim", "CDPDKShim", "CPcapShim", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                     .product(name: "Logging", package: "swift-log"), .product(name: "Hummingbird", package: "hummingbird"),
                     .product(name: "Prometheus", package: "swift-prometheus")],
      swiftSettings: swiftSettings),
    .executableTarget(
      name: "gannetctl",
      dependencies: ["Control", "ControlText", "Cloud", "Wire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: swiftSettings),
    .executableTarget(
      name: "gannet-agent",
      dependencies: ["Cloud", "Control", "Wire", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                     .product(name: "Logging", package: "swift-log")],
      swiftSettings: swiftSettings),
    .executableTarget(
      name: "gannet-bench",
      dependencies: ["Pipeline", "Compiler", "Control", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: swiftSettings),
    .executableTarget(
      name: "gannet-io",
      dependencies: ["IO", "Buffers", "Wire", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: swiftSettings),

    // ---- tests and benchmarks ---------------------------------------------------------
    .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "TablesTests", dependencies: ["Tables", "Wire", "TestSupport"], swiftSettings: swiftSettings),
    // "Requests in, packets out": nodes compiled from control requests on memory ports.
    .target(name: "Fixtures", dependencies: ["Buffers", "Compiler", "Control", "Pipeline", "IO", "Tables", "Wire"], path: "Tests/Fixtures",
            swiftSettings: swiftSettings),
    .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "IO", "Buffers", "Wire", "Tables", "Fixtures", "Compiler", "Control", "TestSupport"],
                swiftSettings: swiftSettings),
    .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
    .testTarget(name: "IOTests", dependencies: ["IO", "Buffers", "Wire", "TestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "CompilerTests", dependencies: ["Compiler", "Control", "Pipeline", "Wire"], swiftSettings: swiftSettings),
    .testTarget(name: "ControlTests", dependencies: ["Control", "ControlText", "Cloud", "Wire"], swiftSettings: swiftSettings),
    .testTarget(name: "DaemonTests", dependencies: ["Control", "Wire", "TestSupport"], swiftSettings: swiftSettings),
    .executableTarget(
      name: "HotPathBenchmarks",
      dependencies: ["Pipeline", "Compiler", "Control", "IO", "Buffers", "Tables", "Wire", .product(name: "Benchmark", package: "benchmark")],
      path: "Benchmarks/HotPathBenchmarks",
      swiftSettings: swiftSettings,
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
  ]
)

// libFuzzer targets (`tools/fuzz.sh`), only when GANNET_FUZZ is set: they have no `main`
// (libFuzzer brings it), so they build only with `-sanitize=fuzzer`.
if Context.environment["GANNET_FUZZ"] != nil {
  let fuzz: [(String, [String])] = [
    ("fuzz-frames", ["Fixtures", "Compiler", "Control", "Pipeline", "IO", "Buffers", "Tables", "Wire"]),
    ("fuzz-control", ["Control", "Wire"]),
    ("fuzz-state", ["Control", "NodeConfig"]),
    ("fuzz-config", ["NodeConfig"]),
  ]
  package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver", swiftSettings: swiftSettings))
  for (name, deps) in fuzz {
    package.targets.append(.executableTarget(
      name: name, dependencies: (deps + ["FuzzDriver"]).map { .target(name: $0) }, path: "Fuzz/\(name)",
      swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]))
    package.products.append(.executable(name: name, targets: [name]))
  }
}

