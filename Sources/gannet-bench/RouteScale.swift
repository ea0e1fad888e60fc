import Compiler
import Control
import Foundation
import IO
import Pipeline
import Wire

/// `--route-scale TABLESxRULES` (issue 16): how long one route-table change takes to be
/// validated, compiled and built into the tables workers read (the lookup tables, one
/// DIR-16-8-8 LPM per table) on a node with TABLES route tables of RULES rules each, all
/// of router VCN0 and associated with its subnets' networks in turn. The rules send
/// distinct /24s of 100.64.0.0/10 to an LPG peered with a second VCN (crossings). Medians
/// of `rounds` changes, each adding one rule to the first table.
enum RouteScale {
  static func run(_ spec: String, rounds: Int = 5) throws -> String {
    let parts = spec.split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, parts[0] >= 1, parts[1] >= 1, parts[1] <= 1 << 20 else {
      throw BenchError("--route-scale wants TABLESxRULES, e.g. 1x10000 or 1000x10")
    }
    let (tables, rules) = (parts[0], parts[1])
    var s = try ControlState(requests: [
      .routerCreate(id: "VCN0", tenant: "t"), .routerCreate(id: "VCN1", tenant: "t"),
      .peering(.cidrAdd(router: "VCN0", IPv4Prefix(IPv4Address(10, 0, 0, 0), 16))),
      .peering(.cidrAdd(router: "VCN1", IPv4Prefix(IPv4Address(10, 1, 0, 0), 16))),
      .networkCreate(Network(id: "n0", tenant: "t", vni: 100)), .networkCreate(Network(id: "n1", tenant: "t", vni: 101)),
      .routerInterfaceAdd(router: "VCN0", RouterInterface(network: "n0", address: IPv4Address(10, 0, 0, 1), prefixLength: 24,
                                                          mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, 0, 1))),
      .routerInterfaceAdd(router: "VCN1", RouterInterface(network: "n1", address: IPv4Address(10, 1, 0, 1), prefixLength: 24,
                                                          mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 1))),
      .peering(.lpgCreate(id: "L0", router: "VCN0")), .peering(.lpgCreate(id: "L1", router: "VCN1")),
      .peering(.lpgConnect(id: "L0", peer: "L1")),
    ])
    // The tables are put in directly (applying each rule as its own commit would measure
    // the set-up, not a change).
    for t in 0..<tables {
      let base = UInt32(100) << 24 | UInt32(64) << 16
      s.routeTables["rt\(t)"] = RouteTable(id: "rt\(t)", router: "VCN0", rules: (0..<rules).map { i in
        RouteRule(destination: IPv4Prefix(IPv4Address(base + UInt32(i) << 8), 24), target: .lpg("L0"))
      })
    }
    s.routers["VCN0"]!.interfaces[0].routeTable = "rt0"
    let node = NodeFacts(tunnelIP: IPv4Address(192, 0, 2, 250), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 0xfa))
    var previous = try DataplaneCompiler.compile(s, node: node, generation: 1)
    var validate: [Double] = [], compile: [Double] = [], build: [Double] = []
    func ms(_ since: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - since) / 1e6 }
    for k in 0..<rounds {
      let change = ControlRequest.peering(.ruleAdd(table: "rt0", RouteRule(destination: IPv4Prefix(IPv4Address(198, 18, UInt8(k), 0), 24),
                                                                             target: .lpg("L0"))))
      var t0 = DispatchTime.now().uptimeNanoseconds
      s = try s.applying(change)
      validate.append(ms(t0))
      t0 = DispatchTime.now().uptimeNanoseconds
      let c = try DataplaneCompiler.compile(s, node: node, previous: previous.assignment, generation: previous.generation + 1)
      compile.append(ms(t0))
      t0 = DispatchTime.now().uptimeNanoseconds
      let snap = c.snapshot { _ in .memory(MemoryPort()) }
      build.append(ms(t0))
      DataplaneSnapshot.retire(snap)
      previous = c
    }
    let med = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
    let total = zip(zip(validate, compile), build).map { $0.0 + $0.1 + $1 }
    return String(format: "route scale %d tables x %d rules (%d lookup tables, %d FIB entries): one rule added, median of %d: "
                  + "validate %.1f ms, compile %.1f ms, build tables %.1f ms, total %.1f ms",
                  tables, rules, tables + 2, tables * rules, rounds, med(validate), med(compile), med(build), med(total))
  }
}
