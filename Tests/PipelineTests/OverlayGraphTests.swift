import Buffers
import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import Wire

// VXLAN and ARP nodes on memory ports: the worker's real graph, no kernel.

let underlayMAC = MACAddress(2, 0, 0, 0, 1, 1)
let peerMAC = MACAddress(2, 0, 0, 0, 1, 2)
let localVTEP = IPv4Address(10, 9, 0, 1)
let peerVTEP = IPv4Address(10, 9, 0, 2)
let peer2VTEP = IPv4Address(10, 9, 0, 3)
let macD = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xd)
let macE = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xe)

/// Ports: 0 VM A (VNI 100, 10.0.0.1), 1 underlay, 2 VM C (VNI 100), 3 VM E (VNI 200).
/// Behind peer: B (VNI 100, 10.0.0.2) and F (VNI 200); behind peer2: D (VNI 200). Tunnel 0 →
/// peer carries VNI 100 and 200, tunnel 1 → peer2 carries 200.
func overlayRig(resolved: Bool = true, mtu: Int = 1500) throws -> Rig {
  var node = NodeFacts.testNode
  node.tunnelIP = localVTEP
  node.underlayMTU = mtu
  node.underlay = .init(mac: underlayMAC, localIP: localVTEP, prefixLength: 24)
  if resolved { node.underlayNeighbors = [peerVTEP: peerMAC, peer2VTEP: MACAddress(2, 0, 0, 0, 1, 3)] }
  return try Rig([Make.network("n1", vni: 100), Make.network("n2", vni: 200),
                  Make.port("a", on: "n1", mac: macA, ips: [IPv4Address(10, 0, 0, 1)]), Make.port("c", on: "n1", mac: macC),
                  Make.port("e", on: "n2", mac: macE),
                  Make.port("b", on: "n1", mac: macB, ips: [IPv4Address(10, 0, 0, 2)], remote: peerVTEP),
                  Make.port("f", on: "n2", mac: MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xf), remote: peerVTEP),
                  Make.port("d", on: "n2", mac: macD, remote: peer2VTEP)],
                 node: node, names: ["a", "underlay", "c", "e"])
}

/// An IPv4/UDP frame between two VMs, `length` bytes in all.
func udpFrame(dst: MACAddress, src: MACAddress, from: IPv4Address, to: IPv4Address, sport: UInt16, dport: UInt16 = 53,
              length: Int = 60) -> [UInt8] {
  var b = frame(dst: dst, src: src, length: length, fill: 0)
  b.withUnsafeMutableBytes { p in
    let ip = IPv4Header(unchecked: p.baseAddress! + 14)
    p.storeBytes(of: 0x45, toByteOffset: 14, as: UInt8.self)
    ip.totalLength = UInt16(length - 14)
    ip.ttl = 64
    ip.proto = IPProtocol.udp
    ip.source = from
    ip.destination = to
    ip.fillChecksum()
    let udp = UDPHeader(unchecked: ip.payload)
    udp.sourcePort = sport
    udp.destinationPort = dport
    udp.length = UInt16(length - 34)
  }
  return b
}

/// An ARP packet (RFC 826) in an Ethernet frame padded to 60 bytes.
func arpFrame(op: UInt16 = ARPHeader.request, dst: MACAddress = .broadcast, src: MACAddress, senderIP: IPv4Address,
              targetMAC: MACAddress = .zero, targetIP: IPv4Address) -> [UInt8] {
  var b = frame(dst: dst, src: src, etherType: EtherType.arp, fill: 0)
  b.withUnsafeMutableBytes { p in
    let a = ARPHeader(unchecked: p.baseAddress! + 14)
    a.fillFixedFields()
    a.operation = op
    a.senderMAC = src
    a.senderIP = senderIP
    a.targetMAC = targetMAC
    a.targetIP = targetIP
  }
  return b
}

/// `inner` in VXLAN/UDP/IPv4/Ethernet as a remote VTEP sends it (RFC 7348 §5).
func vxlanFrame(_ inner: [UInt8], from: IPv4Address = peerVTEP, to: IPv4Address = localVTEP, vni: UInt32 = 100,
                dstMAC: MACAddress = underlayMAC, udpChecksum: Bool = false, corruptUDPChecksum: Bool = false,
                fragment: Bool = false, corruptIPChecksum: Bool = false) -> [UInt8] {
  var b = [UInt8](repeating: 0, count: 50) + inner
  b.withUnsafeMutableBytes { p in
    let e = EthernetHeader(unchecked: p.baseAddress!)
    e.destination = dstMAC
    e.source = peerMAC
    e.etherType = EtherType.ipv4
    let ip = IPv4Header(unchecked: p.baseAddress! + 14)
    p.storeBytes(of: 0x45, toByteOffset: 14, as: UInt8.self)
    ip.totalLength = UInt16(36 + inner.count)
    ip.ttl = 64
    ip.proto = IPProtocol.udp
    ip.source = from
    ip.destination = to
    if fragment { p.baseAddress!.storeBE16(0x2000, at: 20) }
    ip.fillChecksum()
    if corruptIPChecksum { ip.checksum = ip.checksum &+ 1 }
    let udp = UDPHeader(unchecked: ip.payload)
    udp.sourcePort = 50000
    udp.destinationPort = 4789
    udp.length = UInt16(16 + inner.count)
    VXLANHeader(unchecked: udp.payload).fill(vni: vni)
    if udpChecksum {
      udp.fillChecksum(pseudoHeaderSum: Checksum.pseudoHeaderSum(source: from, destination: to, protocol: IPProtocol.udp, length: udp.length))
      if corruptUDPChecksum { udp.checksum = udp.checksum &+ 1 }
    }
  }
  return b
}

func drops(_ rig: borrowing Rig, _ node: NodeID, _ r: DropReason) -> UInt64 { rig.worker.graph.counters.drops(node, r) }

@Suite struct VXLANEncapTests {
  @Test func unicastToRemoteMACIsEncapsulatedPerRFC7348() throws {
    var rig = try overlayRig()
    let inner = udpFrame(dst: macB, src: macA, from: IPv4Address(10, 0, 0, 1), to: IPv4Address(10, 0, 0, 2), sport: 1234, length: 200)
    rig.ports[0].inject(inner)
    rig.pump()
    let out = rig.ports[1].drainCaptured()
    #expect(out.count == 1)
    let f = try #require(out.first)
    #expect(f.count == inner.count + 50)
    #expect(Array(f[50...]) == inner)
    var copy = f
    copy.withUnsafeMutableBytes { p in
      let b = p.baseAddress!
      #expect(b.loadMAC(at: 0) == peerMAC)
      #expect(b.loadMAC(at: 6) == underlayMAC)
      #expect(b.loadBE16(at: 12) == EtherType.ipv4)
      let ip = try? IPv4Header(validating: b + 14, length: f.count - 14)
      #expect(ip?.checksumIsValid == true)
      #expect(ip?.totalLength == UInt16(inner.count + 36))
      #expect(ip?.dontFragment == true)
      #expect(ip?.ttl == 64)
      #expect(ip?.source == localVTEP)
      #expect(ip?.destination == peerVTEP)
      #expect(ip?.proto == IPProtocol.udp)
      let udp = UDPHeader(unchecked: b + 34)
      #expect(udp.destinationPort == 4789)
      #expect(udp.sourcePort >= 49152)
      #expect(udp.length == UInt16(inner.count + 16))
      #expect(udp.checksum == 0)
      let vx = try? VXLANHeader(validating: b + 42, length: 8)
      #expect(vx?.vni == 100)
      #expect(b.loadU8(at: 42) == 0x08)
    }
    let c = rig.worker.graph.tunnelCounters.read(0)
    #expect(c[2] == 1 && c[3] == UInt64(inner.count))
  }

  @Test func outerSourcePortFollowsTheInnerFlow() throws {
    var rig = try overlayRig()
    var ports: [UInt16] = []
    for sport in [1000, 1000, 2000, 3000, 4000, 5000] as [UInt16] {
      rig.ports[0].inject(udpFrame(dst: macB, src: macA, from: IPv4Address(10, 0, 0, 1), to: IPv4Address(10, 0, 0, 2), sport: sport))
      rig.pump()
      let f = rig.ports[1].drainCaptured()[0]
      ports.append(UInt16(f[34]) << 8 | UInt16(f[35]))
    }
    #expect(ports[0] == ports[1])             // same flow, same path
    #expect(Set(ports).count >= 3)            // different flows spread
    #expect(ports.allSatisfy { $0 >= 49152 })
  }

  @Test func frameOverUnderlayMTUIsDroppedAndCountedNeverTruncated() throws {
    var rig = try overlayRig(mtu: 1500)
    let fits = frame(dst: macB, src: macA, length: 1464)      // 1464 + 36 = 1500
    let tooBig = frame(dst: macB, src: macA, length: 1465)
    rig.ports[0].inject(fits)
    rig.ports[0].inject(tooBig)
    rig.pump()
    let out = rig.ports[1].drainCaptured()
    #expect(out.count == 1)
    #expect(out.first?.count == 1514)
    #expect(drops(rig, .vxlanEncap, .vxlanMTUExceeded) == 1)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func unresolvedNextHopIsACountedDrop() throws {
    var rig = try overlayRig(resolved: false)
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(drops(rig, .vxlanEncap, .vxlanNextHopUnresolved) == 1)
  }
}

@Suite struct VXLANDecapTests {
  @Test func knownTunnelAndVNIIsDeliveredInItsNetwork() throws {
    var rig = try overlayRig()
    let inner = udpFrame(dst: macA, src: macB, from: IPv4Address(10, 0, 0, 2), to: IPv4Address(10, 0, 0, 1), sport: 99, length: 300)
    rig.ports[1].inject(vxlanFrame(inner))
    rig.ports[1].inject(vxlanFrame(inner, udpChecksum: true))      // a non-zero checksum that verifies is fine too
    rig.pump()
    #expect(rig.ports[0].drainCaptured() == [inner, inner])
    #expect(rig.ports[2].drainCaptured().isEmpty)
    let c = rig.worker.graph.tunnelCounters.read(0)
    #expect(c[0] == 2 && c[1] == UInt64(2 * inner.count))
  }

  @Test func everyBadOuterHeaderIsDroppedWithItsReason() throws {
    var rig = try overlayRig()
    let inner = frame(dst: macA, src: macB)
    let cases: [([UInt8], NodeID, DropReason)] = [
      (vxlanFrame(inner, from: IPv4Address(10, 9, 0, 77)), .vxlanInput, .vxlanNoTunnel),  // unknown VTEP
      (vxlanFrame(inner, from: peer2VTEP, vni: 100), .vxlanInput, .vxlanNoTunnel), // peer2 does not carry VNI 100
      (vxlanFrame(inner, vni: 999), .vxlanInput, .vxlanNoTunnel),
      (vxlanFrame(inner, to: IPv4Address(10, 9, 0, 99)), .vxlanInput, .underlayNotForUs),
      (vxlanFrame(inner, dstMAC: MACAddress(2, 0, 0, 0, 9, 9)), .vxlanInput, .underlayNotForUs),
      (vxlanFrame(inner, corruptIPChecksum: true), .vxlanInput, .ipBadChecksum),
      (vxlanFrame(inner, fragment: true), .vxlanInput, .vxlanFragment),
      (vxlanFrame(inner, udpChecksum: true, corruptUDPChecksum: true), .vxlanInput, .vxlanBadUDPChecksum),
      (vxlanFrame(Array(inner[0..<10])), .vxlanInput, .vxlanInnerTooShort),
      (vxlanFrame(frame(dst: macA, src: .broadcast)), .vxlanInput, .l2SourceMulticast),
      (Array(vxlanFrame(inner)[0..<40]), .vxlanInput, .ipBadTotalLength),
      (frame(dst: underlayMAC, src: peerMAC, etherType: EtherType.ipv6), .ethernetInput, .underlayUnsupported),
    ]
    for (f, node, reason) in cases {
      let before = drops(rig, node, reason)
      rig.ports[1].inject(f)
      rig.pump()
      #expect(drops(rig, node, reason) == before + 1, "\(reason.name)")
    }
    var badFlags = vxlanFrame(inner)
    badFlags[42] = 0
    rig.ports[1].inject(badFlags)
    rig.pump()
    #expect(drops(rig, .vxlanInput, .vxlanBadFlags) == 1)
    #expect(rig.ports[0].drainCaptured().isEmpty)
    #expect(rig.ports[2].drainCaptured().isEmpty)
    #expect(rig.ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func frameFromATunnelNeverGoesIntoAnotherTunnel() throws {
    var rig = try overlayRig()
    rig.ports[1].inject(vxlanFrame(frame(dst: macD, src: macB), vni: 200))   // D is behind peer2
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(drops(rig, .l2Forward, .l2TunnelToTunnel) == 1)
  }
}

@Suite struct OverlayFloodTests {
  @Test func broadcastIsReplicatedToTheNetworksTunnelsOnly() throws {
    var rig = try overlayRig()
    let bcast = frame(dst: .broadcast, src: macE, fill: 7)          // VNI 200: local nobody else, tunnels 0 and 1
    rig.ports[3].inject(bcast)
    rig.pump()
    let out = rig.ports[1].drainCaptured()
    #expect(out.count == 2)
    #expect(Set(out.map { Array($0[30..<34]) }) == [[10, 9, 0, 2], [10, 9, 0, 3]])
    #expect(out.allSatisfy { Array($0[50...]) == bcast && $0[46] == 0 && $0[47] == 0 && $0[48] == 200 })
    #expect(rig.ports[0].drainCaptured().isEmpty && rig.ports[2].drainCaptured().isEmpty)

    let b1 = frame(dst: .broadcast, src: macA, fill: 8)             // VNI 100: C locally, tunnel 0
    rig.ports[0].inject(b1)
    rig.pump()
    #expect(rig.ports[2].drainCaptured() == [b1])
    let out1 = rig.ports[1].drainCaptured()
    #expect(out1.count == 1 && Array(out1[0][30..<34]) == [10, 9, 0, 2] && Array(out1[0][50...]) == b1)
    #expect(rig.ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func broadcastFromATunnelFloodsLocallyOnly() throws {
    var rig = try overlayRig()
    let b = frame(dst: .broadcast, src: macB, fill: 5)
    rig.ports[1].inject(vxlanFrame(b))
    rig.pump()
    #expect(rig.ports[0].drainCaptured() == [b])
    #expect(rig.ports[2].drainCaptured() == [b])
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.ports[3].drainCaptured().isEmpty)
  }
}

@Suite struct ARPResponderTests {
  @Test func requestForAKnownPortIsAnsweredLocally() throws {
    var rig = try overlayRig()
    rig.ports[0].inject(arpFrame(src: macA, senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 2)))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)      // nothing crosses the overlay
    #expect(rig.ports[2].drainCaptured().isEmpty)
    let reply = try #require(rig.ports[0].drainCaptured().first)
    #expect(reply == arpFrame(op: ARPHeader.reply, dst: macA, src: macB, senderIP: IPv4Address(10, 0, 0, 2), targetMAC: macA,
                              targetIP: IPv4Address(10, 0, 0, 1)))
  }

  @Test func unknownIPsProbesOfOwnAddressAndGratuitousARPAreSwitched() throws {
    var rig = try overlayRig()
    let unknown = arpFrame(src: macA, senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 77))
    let probe = arpFrame(src: macA, senderIP: IPv4Address(0), targetIP: IPv4Address(10, 0, 0, 1))
    let gratuitous = arpFrame(src: macA, senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 1))
    for f in [unknown, probe, gratuitous] {
      rig.ports[0].inject(f)
      rig.pump()
      #expect(rig.ports[2].drainCaptured() == [f])
      #expect(rig.ports[1].drainCaptured().map { Array($0[50...]) } == [f])
      #expect(rig.ports[0].drainCaptured().isEmpty)
    }
  }

  @Test func malformedARPFromAVMIsDropped() throws {
    var rig = try overlayRig()
    rig.ports[0].inject(frame(dst: .broadcast, src: macA, etherType: EtherType.arp, fill: 9))
    rig.pump()
    #expect(drops(rig, .arpResponder, .arpUnsupported) == 1)
    #expect(rig.ports[1].drainCaptured().isEmpty && rig.ports[2].drainCaptured().isEmpty)
  }
}

@Suite struct UnderlayARPTests {
  @Test func requestForTheTunnelIPIsAnsweredAndTheAskerReported() throws {
    var rig = try overlayRig()
    rig.ports[1].inject(arpFrame(src: peerMAC, senderIP: peerVTEP, targetIP: localVTEP))
    rig.pump()
    let reply = try #require(rig.ports[1].drainCaptured().first)
    #expect(reply == arpFrame(op: ARPHeader.reply, dst: peerMAC, src: underlayMAC, senderIP: localVTEP, targetMAC: peerMAC,
                              targetIP: peerVTEP))
    #expect(rig.worker.events.drain() == [EventRing.Event(kind: .neighbor, key: UInt64(peerVTEP.value), value: peerMAC.rawValue,
                                                          interface: UInt16(rig.index(of: "underlay")))])
  }

  @Test func repliesAreReportedAndOtherARPIsNotForUs() throws {
    var rig = try overlayRig()
    let m = MACAddress(2, 0, 0, 0, 1, 9)
    rig.ports[1].inject(arpFrame(op: ARPHeader.reply, dst: underlayMAC, src: m, senderIP: peer2VTEP, targetMAC: underlayMAC,
                                 targetIP: localVTEP))
    rig.ports[1].inject(arpFrame(src: m, senderIP: peer2VTEP, targetIP: IPv4Address(10, 9, 0, 50)))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.worker.events.drain().map(\.value) == [m.rawValue])
    #expect(drops(rig, .underlayARP, .underlayNotForUs) == 1)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
    #expect(rig.ports[0].drainCaptured().isEmpty)
  }

  /// Every packet of one ICMP echo flow leaves with one outer source port: the hash reads
  /// the identifier, not the checksum or sequence number (issue 12).
  @Test func oneEchoFlowKeepsOneOuterSourcePort() throws {
    var rig = try overlayRig()
    var ports = Set<UInt16>()
    for seq in UInt16(1)...5 {
      rig.ports[0].inject(l4Frame(dst: macB, src: macA, from: IPv4Address(10, 0, 0, 1), to: IPv4Address(10, 0, 0, 2),
                                  proto: IPProtocol.icmp, sport: 4242, dport: seq, payload: [UInt8](repeating: UInt8(seq), count: 24)))
      rig.pump()
      let f = try #require(rig.ports[1].drainCaptured().first)
      ports.insert(be16(f, 34))
    }
    #expect(ports.count == 1)
    rig.ports[0].inject(l4Frame(dst: macB, src: macA, from: IPv4Address(10, 0, 0, 1), to: IPv4Address(10, 0, 0, 2),
                                proto: IPProtocol.icmp, sport: 4243, dport: 1))
    rig.pump()
    _ = rig.ports[1].drainCaptured()   // another identifier: another flow (it may or may not hash elsewhere)
  }
}

