import FuzzDriver
import Buffers
import Compiler
import Control
import IO
import Pipeline
import Tables
import Wire

// libFuzzer target: arbitrary frames through the whole graph, on every kind of port.
//
// Input: byte 0 picks the port the frame arrives on (VM with a router and a floating IP,
// VM without, a VM without port security on a second network, the underlay, the uplink);
// the rest is the frame. After each frame: no crash (ASan), every buffer is back in the
// pool, and the frame was either sent somewhere or counted as a named drop.

let vmA = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), vmB = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 11)
let vmC = MACAddress(0xfa, 0x16, 0x3e, 2, 0, 12), gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0)
let gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 2, 0), uplinkMAC = MACAddress(2, 0, 0, 0, 0xe, 1)
let upstreamMAC = MACAddress(2, 0, 0, 0, 0, 0xfe), gatewayPortMAC = MACAddress(0xfa, 0x16, 0x3e, 0xee, 0, 1)
let underlayMAC = MACAddress(2, 0, 0, 0, 1, 1), peerMAC = MACAddress(2, 0, 0, 0, 1, 2)
let remoteVM = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 20)

/// Ports: 0 VM 10.1.0.10 (SNAT), 1 VM 10.1.0.11 (floating IP 203.0.113.5), 2 the uplink,
/// 3 the underlay (VTEP 192.0.2.11, one tunnel to 192.0.2.12), 4 VM 10.2.0.12 without port
/// security on a learning network. One router with 10.1.0.1/24 and 10.2.0.1/24, a static
/// route, an external gateway 203.0.113.10 whose SNAT runs here; 10.1.0.20 is behind the
/// tunnel. Compiled from control requests, as gannetd would.
let names = ["a", "b", "uplink", "underlay", "c"]
func makeSnapshot(_ ports: [MemoryPort]) -> DataplaneSnapshot {
  func port(_ id: String, _ net: String, _ mac: MACAddress, _ ip: IPv4Address, security: Bool = true, remote: IPv4Address? = nil) -> ControlRequest {
    .portCreate(LogicalPort(id: id, network: net, mac: mac, fixedIPs: [ip], location: remote.map { .remote($0) } ?? .local("null:\(id)"),
                            portSecurity: security))
  }
  let peer = IPv4Address(192, 0, 2, 12), upstream = IPv4Address(203, 0, 113, 1)
  let requests: [ControlRequest] = [
    .networkCreate(Network(id: "n1", tenant: "t", vni: 100)), .networkCreate(Network(id: "n2", tenant: "t", vni: 200, learning: true)),
    port("a", "n1", vmA, IPv4Address(10, 1, 0, 10)), port("b", "n1", vmB, IPv4Address(10, 1, 0, 11)),
    port("c", "n2", vmC, IPv4Address(10, 2, 0, 12), security: false),
    port("r1", "n1", remoteVM, IPv4Address(10, 1, 0, 20), remote: peer),
    port("r2", "n2", MACAddress(0xfa, 0x16, 0x3e, 2, 0, 20), IPv4Address(10, 2, 0, 20), remote: peer),
    .chassisSet(Chassis(tunnelIP: peer, dvrMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 12))),
    .routerCreate(id: "r", tenant: "t"),
    .routerInterfaceAdd(router: "r", RouterInterface(network: "n1", address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1)),
    .routerInterfaceAdd(router: "r", RouterInterface(network: "n2", address: IPv4Address(10, 2, 0, 1), prefixLength: 24, mac: gw2)),
    .routerRouteAdd(router: "r", StaticRoute(prefix: IPv4Prefix(IPv4Address(10, 9, 0, 0), 16), nextHop: IPv4Address(10, 2, 0, 12))),
    .routerGatewaySet(router: "r", ExternalGateway(externalIP: IPv4Address(203, 0, 113, 10), prefixLength: 24, upstream: upstream,
                                                   mac: gatewayPortMAC, snatNode: IPv4Address(192, 0, 2, 11), portLow: 1024, portHigh: 1100)),
    .floatingIPCreate(FloatingIP(address: IPv4Address(203, 0, 113, 5), port: "b", fixedIP: IPv4Address(10, 1, 0, 11))),
  ]
  var node = NodeFacts(role: .network, tunnelIP: IPv4Address(192, 0, 2, 11), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 11))
  node.underlay = .init(mac: underlayMAC, localIP: IPv4Address(192, 0, 2, 11), prefixLength: 24)
  node.underlayNeighbors = [peer: peerMAC]
  node.uplink = .init(mac: uplinkMAC)
  node.upstreamNeighbors = [upstream: upstreamMAC]
  var byName: [String: Port] = [:]
  for (n, p) in zip(names, ports) { byName[n] = .memory(p) }
  do { return try DataplaneCompiler.snapshot(requests: requests, node: node, ports: byName) } catch { fatalError("fuzz rig: \(error)") }
}

/// Everything one run of the target keeps between inputs (libFuzzer calls it in one thread).
final class Harness {
  let ports = names.map { _ in MemoryPort() }
  let qsbr = QSBR(workers: 1)
  let tables: RCUBox<DataplaneSnapshot>
  var worker: Worker
  init() {
    tables = RCUBox(makeSnapshot(ports), qsbr: qsbr, retire: DataplaneSnapshot.retire)
    worker = Worker(index: 0, tables: tables, maxPorts: 16, poolSize: 1024,
                    sessions: SessionTable(capacity: 4096, timeouts: NATTimeouts()))
    qsbr.online(worker: 0)
  }

  /// Sent packets plus named drops, over every port and node.
  func accounted() -> UInt64 {
    var n: UInt64 = 0
    for p in ports {
      n &+= p.counters.portTotal(PortCounter.txPackets)
      for r in DropReason.allCases { n &+= p.counters.drops(r) }
    }
    for (_, _, c) in worker.graph.counters.allDrops() { n &+= c }
    return n
  }
}

nonisolated(unsafe) let harness = Harness()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  let port = Int(data[0]) % harness.ports.count
  let frame = Array(UnsafeBufferPointer(start: data + 1, count: min(size - 1, MemoryPort.slotSize)))
  let before = harness.accounted()
  guard harness.ports[port].inject(frame) else { return 0 }
  while harness.worker.poll() > 0 {}
  for p in harness.ports { _ = p.drainCaptured() }
  let pool = harness.worker.pool
  if pool.available != pool.capacity {
    fatalError("buffer pool unbalanced: \(pool.capacity - pool.available) buffers not returned (port \(port), \(frame.count) bytes)")
  }
  if harness.accounted() == before {
    fatalError("a frame was neither sent nor counted as a drop (port \(port), \(frame.count) bytes)")
  }
  return 0
}

@_cdecl("fuzz_frames_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  runFuzzer(argc, argv, fuzzFrame)
}
