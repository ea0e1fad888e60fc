import FuzzDriver
import Buffers
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
/// security. Routers: one VRF with 10.1.0.1/24 and 10.2.0.1/24, a static route, an external
/// gateway 198.51.100.10 whose SNAT runs here; 10.1.0.20 is behind the tunnel.
func makeSnapshot(_ ports: [MemoryPort]) -> DataplaneSnapshot {
  var r = RoutingConfig()
  r.addInterface(vrf: 0, domain: 1, address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1, mtu: 1450)
  r.addInterface(vrf: 0, domain: 2, address: IPv4Address(10, 2, 0, 1), prefixLength: 24, mac: gw2, mtu: 1450)
  r.addRoute(vrf: 0, prefix: IPv4Address(10, 9, 0, 0), length: 16, interface: 1, gateway: IPv4Address(10, 2, 0, 12))
  r.addExternalRoute(vrf: 0)
  r.neighbors = [(1, IPv4Address(10, 1, 0, 10), vmA, L2Value.local(0)), (1, IPv4Address(10, 1, 0, 11), vmB, L2Value.local(1)),
                 (2, IPv4Address(10, 2, 0, 12), vmC, L2Value.local(4)), (1, IPv4Address(10, 1, 0, 20), remoteVM, L2Value.tunnel(0))]
  r.localDVRMAC = MACAddress(0xfa, 0x16, 0x3f, 0, 0, 11)
  r.remoteDVRMACs = [MACAddress(0xfa, 0x16, 0x3f, 0, 0, 12)]
  var e = ExternalConfig()
  e.uplinkInterface = 2
  e.uplinkMAC = uplinkMAC
  e.gateways = [.init(vrf: 0, externalIP: IPv4Address(198, 51, 100, 10), mac: gatewayPortMAC, upstreamMAC: upstreamMAC, portLow: 1024,
                      portHigh: 1100, snatHere: true, snatTunnel: nil, routerInterface: 0)]
  e.floatingIPs = [.init(address: IPv4Address(203, 0, 113, 5), vrf: 0, inside: IPv4Address(10, 1, 0, 11), upstreamMAC: upstreamMAC,
                         routerInterface: 0)]
  var o = OverlayConfig()
  o.underlayInterface = 3
  o.localMAC = underlayMAC
  o.localIP = IPv4Address(192, 0, 2, 11)
  o.tunnels = [.init(index: 0, remote: IPv4Address(192, 0, 2, 12), nextHopMAC: peerMAC)]
  o.vni = [1: 100, 2: 200]
  o.domainTunnels = [1: [0], 2: [0]]
  o.arp = [(1, IPv4Address(10, 1, 0, 10), vmA), (1, IPv4Address(10, 1, 0, 11), vmB), (1, IPv4Address(10, 1, 0, 20), remoteVM)]
  return DataplaneSnapshot(
    generation: 1, ports: ports.map { .memory($0) },
    interfaces: [InterfaceInfo(domain: 1, portSecurity: true, mac: vmA), InterfaceInfo(domain: 1, portSecurity: true, mac: vmB),
                 InterfaceInfo(domain: 0, portSecurity: false, mac: uplinkMAC),
                 InterfaceInfo(domain: 0, portSecurity: false, mac: underlayMAC),
                 InterfaceInfo(domain: 2, portSecurity: false, mac: vmC, learning: true)],
    poll: [[0, 1, 2, 3, 4]], domains: 2,
    l2: [(1, vmA, 0), (1, vmB, 1), (2, vmC, 4), (1, remoteVM, L2Value.tunnel(0))] + r.gatewayL2Entries,
    overlay: o, routing: r, external: e)
}

/// Everything one run of the target keeps between inputs (libFuzzer calls it in one thread).
final class Harness {
  let ports = (0..<5).map { _ in MemoryPort() }
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
