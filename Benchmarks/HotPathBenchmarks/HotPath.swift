import Benchmark
import Buffers
import Compiler
import Control
import IO
import Pipeline
import Tables
import Wire

/// Steady-state forwarding through the real worker and graph, 1M packets after a warm-up,
/// whose heap allocation count must be 0 (thresholds in Thresholds/, checked by
/// `swift package benchmark thresholds check`):
///
/// - l2-forward: W1-like traffic (1,000 UDP frames among 64 VM MACs), in-memory replay →
///   ethernet-input → l2-input → l2-forward → port-output → null sink.
/// - vxlan-decap: the same frames VXLAN-encapsulated from a remote VTEP (W5) →
///   ethernet-input → vxlan-input → l2-forward → port-output.
/// - vxlan-encap: the same frames from a local VM to MACs behind a tunnel →
///   l2-input → l2-forward → vxlan-encap → port-output (the underlay).
/// - ip4-route: W2-like UDP from subnet 10.1.0.0/24 to 64 VMs of 10.2.0.0/24 through the
///   gateway → l2-forward → ip4-input → ip4-lookup → port-output.
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.mallocCountTotal, .wallClock, .throughput],
    maxDuration: .seconds(20), maxIterations: 5,
    thresholds: [.mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0])])

  let macs = (0..<64).map { MACAddress(0xfa, 0x16, 0x3e, 1, 0, UInt8(10 + $0)) }
  let frames = (0..<1000).map { i in
    var f = [UInt8](repeating: 0, count: 60)
    f.withUnsafeMutableBytes { p in
      let e = EthernetHeader(unchecked: p.baseAddress!)
      e.destination = macs[(i * 7) % 64]
      e.source = macs[(i * 13 + 1) % 64]
      e.etherType = EtherType.ipv4
    }
    return f
  }
  let localMAC = MACAddress(2, 0, 0, 0, 1, 1), remoteMAC = MACAddress(2, 0, 0, 0, 1, 2)
  let localIP = IPv4Address(192, 168, 100, 1), remoteIP = IPv4Address(192, 168, 100, 2)
  let node = NodeFacts(tunnelIP: localIP, dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 1))
  var vtep = node
  vtep.underlay = .init(mac: localMAC, localIP: localIP, prefixLength: 24)
  vtep.underlayNeighbors = [remoteIP: remoteMAC]
  func network(_ id: String, _ vni: UInt32) -> ControlRequest { .networkCreate(Network(id: id, tenant: "t", vni: vni)) }
  func port(_ id: String, _ net: String, _ mac: MACAddress, ips: [IPv4Address] = [], remote: IPv4Address? = nil) -> ControlRequest {
    .portCreate(LogicalPort(id: id, network: net, mac: mac, fixedIPs: ips, location: remote.map { .remote($0) } ?? .local("null:\(id)"),
                            portSecurity: false))
  }
  /// Network "n" (VNI 1001), port "in" (unless the input is the underlay), and the 64 VM
  /// MACs behind `behind`.
  func l2(behind: String, _ extra: [ControlRequest], vmInput: Bool = true) -> [ControlRequest] {
    [network("n", 1001)] + (vmInput ? [port("in", "n", MACAddress(2, 0, 0, 0, 0, 1))] : []) + extra
      + macs.map { .fdbAdd(FDBEntry(network: "n", mac: $0, port: behind)) }
  }

  Benchmark("l2-forward-1M-packets") { benchmark in
    measure(benchmark, frames, l2(behind: "out", [port("out", "n", MACAddress(2, 0, 0, 0, 0, 2))]), node: node)
  }

  Benchmark("vxlan-decap-1M-packets") { benchmark in
    let encapsulated = frames.map { inner -> [UInt8] in
      var f = [UInt8](repeating: 0, count: 50) + inner
      f.withUnsafeMutableBytes { p in
        let b = p.baseAddress!
        b.storeMAC(localMAC, at: 0)
        b.storeMAC(remoteMAC, at: 6)
        b.storeBE16(EtherType.ipv4, at: 12)
        let ip = IPv4Header(unchecked: b + 14)
        b.storeU8(0x45, at: 14)
        ip.totalLength = UInt16(36 + inner.count)
        ip.ttl = 64
        ip.proto = IPProtocol.udp
        ip.source = remoteIP
        ip.destination = localIP
        ip.fillChecksum()
        let udp = UDPHeader(unchecked: b + 34)
        udp.sourcePort = 49152
        udp.destinationPort = VXLANHeader.udpPort
        udp.length = UInt16(16 + inner.count)
        VXLANHeader(unchecked: b + 42).fill(vni: 1001)
      }
      return f
    }
    measure(benchmark, encapsulated, l2(behind: "out", [port("out", "n", MACAddress(2, 0, 0, 0, 0, 2)),
                                                      port("peer", "n", MACAddress(2, 0, 0, 0, 0, 3), remote: remoteIP)], vmInput: false),
            node: vtep, input: "underlay")
  }

  Benchmark("ip4-route-1M-packets") { benchmark in
    let gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0), gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 2, 0)
    let routedFrames = (0..<1000).map { i in
      udpFromVM(to: gw1, destination: IPv4Address(10, 2, 0, UInt8(10 + i % 64)), sourcePort: 0)
    }
    let requests: [ControlRequest] = [
      network("n1", 1), network("n2", 2), .routerCreate(id: "r", tenant: "t"),
      .routerInterfaceAdd(router: "r", RouterInterface(network: "n1", address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1)),
      .routerInterfaceAdd(router: "r", RouterInterface(network: "n2", address: IPv4Address(10, 2, 0, 1), prefixLength: 24, mac: gw2)),
      port("in", "n1", MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10)),
      // The 64 VMs of 10.2.0.0/24 are fixed IPs of the sink port.
      port("out", "n2", MACAddress(0xfa, 0x16, 0x3e, 2, 0, 10), ips: (10..<74).map { IPv4Address(10, 2, 0, UInt8($0)) }),
    ]
    measure(benchmark, routedFrames, requests, node: node)
  }

  Benchmark("snat-1M-packets") { benchmark in
    // A VM's UDP flows (256 of them) routed to the external network and source-NATed on this
    // node (the router's SNAT node); the sink is the uplink. Sessions are made in the warm-up.
    let gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0)
    let natFrames = (0..<1024).map { i in
      udpFromVM(to: gw1, destination: IPv4Address(198, 51, 100, 1), sourcePort: UInt16(1000 + i % 256))
    }
    let upstream = IPv4Address(192, 0, 2, 254), gatewayMAC = MACAddress(0xfa, 0x16, 0x3e, 0xee, 0, 1)
    var snatNode = node
    snatNode.role = .network
    snatNode.uplink = .init(mac: gatewayMAC)
    snatNode.upstreamNeighbors = [upstream: MACAddress(2, 0, 0, 0, 0, 0xfe)]
    let requests: [ControlRequest] = [
      network("n1", 1), .routerCreate(id: "r", tenant: "t"),
      .routerInterfaceAdd(router: "r", RouterInterface(network: "n1", address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1)),
      port("in", "n1", MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10)),
      .routerGatewaySet(router: "r", ExternalGateway(externalIP: IPv4Address(192, 0, 2, 1), prefixLength: 24, upstream: upstream,
                                                     mac: gatewayMAC, snatNode: localIP)),
    ]
    let sessions = SessionTable(capacity: 4096)
    measure(benchmark, natFrames, requests, node: snatNode, sink: "uplink", sessions: sessions)
    precondition(sessions.live == 256, "expected 256 sessions, found \(sessions.live)")
    sessions.destroy()
  }

  Benchmark("vxlan-encap-1M-packets") { benchmark in
    // The input is a VM; every destination MAC is behind the tunnel to the peer; the sink is the underlay.
    measure(benchmark, frames, l2(behind: "peer", [port("peer", "n", MACAddress(2, 0, 0, 0, 0, 3), remote: remoteIP)]),
            node: vtep, sink: "underlay")
  }
}

/// A 60-byte UDP frame from VM 10.1.0.10 (fa:16:3e:01:00:0a) to its gateway MAC `to`, for
/// `destination` (source port `sourcePort`, destination port 53; a zero port leaves the UDP
/// header zero).
func udpFromVM(to gateway: MACAddress, destination: IPv4Address, sourcePort: UInt16) -> [UInt8] {
  var f = [UInt8](repeating: 0, count: 60)
  f.withUnsafeMutableBytes { p in
    let b = p.baseAddress!
    b.storeMAC(gateway, at: 0)
    b.storeMAC(MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), at: 6)
    b.storeBE16(EtherType.ipv4, at: 12)
    b.storeU8(0x45, at: 14)
    let ip = IPv4Header(unchecked: b + 14)
    ip.totalLength = 46
    ip.ttl = 64
    ip.proto = IPProtocol.udp
    ip.source = IPv4Address(10, 1, 0, 10)
    ip.destination = destination
    ip.fillChecksum()
    if sourcePort != 0 {
      b.storeBE16(sourcePort, at: 34)
      b.storeBE16(53, at: 36)
      b.storeBE16(26, at: 38)
    }
  }
  return f
}

/// Replays `frames` on interface `input` (the interface `sink` is a null sink) through a
/// worker of the snapshot the compiler makes of `requests` for `node`, and measures 1M
/// packets after a 10k warm-up.
func measure(_ benchmark: Benchmark, _ frames: [[UInt8]], _ requests: [ControlRequest], node: NodeFacts, input: String = "in",
             sink: String = "out", sessions: SessionTable? = nil) {
  let packets = 1_000_000, warmup = 10_000
  let replay = PcapReplayPort(store: FrameStore(frames: frames), limit: packets + warmup)
  let sinkPort = MemoryPort(inputCapacity: 1, capture: false)
  let snapshot: DataplaneSnapshot
  do {
    snapshot = try DataplaneCompiler.snapshot(requests: requests, node: node, ports: [input: .pcapReplay(replay), sink: .memory(sinkPort)],
                                              poll: [input])
  } catch { fatalError("benchmark tables: \(error)") }
  let qsbr = QSBR(workers: 1)
  let tables = RCUBox(snapshot, qsbr: qsbr, retire: DataplaneSnapshot.retire)
  var worker = Worker(index: 0, tables: tables, maxPorts: snapshot.portCount, sessions: sessions)
  qsbr.online(worker: 0)
  while replay.counters.read(PortCounter.rxPackets) < UInt64(warmup) { _ = worker.poll() }

  benchmark.startMeasurement()
  while !replay.finished { _ = worker.poll() }
  benchmark.stopMeasurement()

  precondition(sinkPort.counters.read(PortCounter.txPackets) == UInt64(packets + warmup), "packets were lost")
  qsbr.offline(worker: 0)
  worker.destroy()
}
