import Buffers
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import Wire

/// Builds a 60-byte UDP frame dst <- src (contents beyond the MACs do not matter to L2).
func frame(dst: MACAddress, src: MACAddress, etherType: UInt16 = EtherType.ipv4, length: Int = 60, fill: UInt8 = 0xab) -> [UInt8] {
  var b = [UInt8](repeating: fill, count: length)
  b.withUnsafeMutableBytes { p in
    let e = EthernetHeader(unchecked: p.baseAddress!)
    e.destination = dst
    e.source = src
    e.etherType = etherType
  }
  return b
}

let macA = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xa)
let macB = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xb)
let macC = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 0xc)

/// One network "n" with ports a, b, c (MACs A, B, C, port security off) on memory ports.
func l2Rig(poolSize: Int = 1024, down: Set<String> = [], extra: [ControlRequest] = []) throws -> Rig {
  try Rig([Make.network("n", vni: 1)] + [("a", macA), ("b", macB), ("c", macC)].map { Make.port($0.0, on: "n", mac: $0.1, security: false) }
            + extra, names: ["a", "b", "c"], down: down, poolSize: poolSize)
}

@Suite struct L2GraphTests {
  @Test func knownUnicastGoesToItsPortUnchanged() throws {
    var rig = try l2Rig()
    let toB = frame(dst: macB, src: macA, fill: 1)
    let toC = frame(dst: macC, src: macA, length: 1514, fill: 2)
    let toA = frame(dst: macA, src: macB, fill: 3)
    rig.ports[0].inject(toB)
    rig.ports[0].inject(toC)
    rig.ports[1].inject(toA)
    rig.pump()
    #expect(rig.ports[1].drainCaptured() == [toB])
    #expect(rig.ports[2].drainCaptured() == [toC])
    #expect(rig.ports[0].drainCaptured() == [toA])
    let c = rig.worker.graph.counters
    #expect(c.packets(.ethernetInput) == 3)
    #expect(c.packets(.l2Forward) == 3)
    #expect(c.packets(.portOutput) == 3)
    #expect(c.packets(.errorDrop) == 0)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)   // every buffer came back
  }

  @Test func dropsAreCountedWithTheirReason() throws {
    var rig = try l2Rig()
    rig.ports[0].inject(frame(dst: macA, src: macB))                           // hairpin
    rig.ports[0].inject(frame(dst: macB, src: MACAddress(1, 0, 0x5e, 0, 0, 1)))   // multicast source
    rig.ports[0].inject(Array(frame(dst: macB, src: macA)[0..<13]))           // runt
    rig.ports[0].inject(Array(frame(dst: macB, src: macA, etherType: EtherType.vlan)[0..<16]))   // cut tag
    rig.ports[0].inject(frame(dst: macB, src: macA))                           // the one good frame
    rig.pump()
    let c = rig.worker.graph.counters
    #expect(c.drops(.l2Forward, .l2Hairpin) == 1)
    #expect(c.drops(.ethernetInput, .l2SourceMulticast) == 1)
    #expect(c.drops(.ethernetInput, .l2TooShort) == 1)
    #expect(c.drops(.ethernetInput, .l2VlanTooShort) == 1)
    #expect(c.packets(.errorDrop) == 4)
    #expect(rig.ports[1].drainCaptured().count == 1)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func mixedDestinationsInOneVectorAreSplitPerPort() throws {
    var rig = try l2Rig()
    var expectB: [[UInt8]] = [], expectC: [[UInt8]] = []
    for i in 0..<200 {
      let f = frame(dst: i % 3 == 0 ? macC : macB, src: macA, fill: UInt8(i))
      if i % 3 == 0 { expectC.append(f) } else { expectB.append(f) }
      rig.ports[0].inject(f)
    }
    rig.pump()
    #expect(rig.ports[1].drainCaptured() == expectB)   // order within a port is kept
    #expect(rig.ports[2].drainCaptured() == expectC)
  }

  @Test func poolExhaustionIsACountedDropNotACrash() throws {
    var rig = try l2Rig(poolSize: 4)
    for i in 0..<10 { rig.ports[0].inject(frame(dst: macB, src: macA, fill: UInt8(i))) }
    // Each poll may take 4 buffers; they return at tx, so everything gets through in rounds.
    rig.pump()
    #expect(rig.ports[1].drainCaptured().count == 10)
    #expect(rig.worker.pool.available == 4)
  }

  @Test func tablePublishedWhileRunningTakesEffectOnTheNextBurst() throws {
    var rig = try l2Rig()
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().count == 1)
    // B moves behind port c.
    try rig.apply([.portDelete(id: "b"), Make.fdb("n", macB, port: "c")])
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.ports[2].drainCaptured().count == 1)
  }
}

/// Two tenants, identical MACs: A and B (a1, b1) on network n1, A and B again (a2, b2) on n2.
func twoTenants(security: Bool = true, extra: [ControlRequest] = []) throws -> Rig {
  try Rig([Make.network("n1", vni: 1, tenant: "t1"), Make.network("n2", vni: 2, tenant: "t2"),
           Make.port("a1", on: "n1", mac: macA, security: security), Make.port("b1", on: "n1", mac: macB, security: security),
           Make.port("a2", on: "n2", mac: macA, security: security), Make.port("b2", on: "n2", mac: macB, security: security)] + extra,
          names: ["a1", "b1", "a2", "b2"])
}

@Suite struct TenantIsolationTests {
  @Test func unicastStaysInItsNetwork() throws {
    var rig = try twoTenants()
    let ports = rig.ports
    let t1 = frame(dst: macB, src: macA, fill: 1), t2 = frame(dst: macB, src: macA, fill: 2)
    ports[0].inject(t1)
    ports[2].inject(t2)
    rig.pump()
    #expect(ports[1].drainCaptured() == [t1])
    #expect(ports[3].drainCaptured() == [t2])
  }

  @Test func broadcastFloodsOnlyToItsOwnNetwork() throws {
    var rig = try twoTenants()
    let ports = rig.ports
    let arp = arpFrame(src: macA, senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 9))
    ports[0].inject(arp)
    rig.pump()
    #expect(ports[1].drainCaptured() == [arp])
    #expect(ports[0].drainCaptured().isEmpty)   // never back to the sender
    #expect(ports[2].drainCaptured().isEmpty)
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func unknownUnicastFloodsInNetworkAndCountsWhenAlone() throws {
    var rig = try twoTenants()
    let ports = rig.ports
    let unknown = frame(dst: MACAddress(2, 0, 0, 0, 0, 0x77), src: macA)
    ports[0].inject(unknown)
    rig.pump()
    #expect(ports[1].drainCaptured() == [unknown])
    // Tenant 1 loses b1: now nobody else is in the network.
    try rig.apply([.portDelete(id: "b1")])
    ports[0].inject(frame(dst: macB, src: macA))   // B of tenant 1 is gone; tenant 2's B must not get it
    rig.pump()
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.l2Flood, .l2FloodNoMembers) == 1)
  }

  @Test func spoofedSourceIsDropped() throws {
    var rig = try twoTenants()
    let ports = rig.ports
    ports[0].inject(frame(dst: macB, src: macC))   // C is not a1's MAC
    rig.pump()
    #expect(ports[1].drainCaptured().isEmpty)
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.l2Input, .l2SourceSpoofed) == 1)
  }

  @Test func remoteDestinationWithoutAnUnderlayIsACountedDrop() throws {
    // c is behind another node, and this node has no underlay: no tunnel reaches it.
    var rig = try twoTenants(extra: [Make.port("c", on: "n1", mac: macC, remote: IPv4Address(10, 9, 0, 9))])
    rig.ports[0].inject(frame(dst: macC, src: macA))
    rig.pump()
    #expect(rig.worker.graph.counters.drops(.l2Forward, .l2RemoteUnreachable) == 1)
    #expect(rig.ports[1].drainCaptured().isEmpty)
  }
}

@Suite struct L2LearningNodeTests {
  /// a on a learning network with port security off; b with port security (its MAC static).
  func learningRig() throws -> Rig {
    try Rig([Make.network("n", vni: 1, learning: true), Make.port("a", on: "n", mac: macA, security: false),
             Make.port("b", on: "n", mac: macB)], names: ["a", "b"])
  }

  @Test func unknownSourcesAreAnnouncedStaticOnesNot() throws {
    var rig = try learningRig()
    let ports = rig.ports
    let hidden = MACAddress(2, 0, 0, 0, 0, 0x42)
    ports[0].inject(frame(dst: macB, src: hidden))    // a MAC behind a
    ports[0].inject(frame(dst: macB, src: macA))      // a's own, static: no event
    ports[1].inject(frame(dst: macA, src: macB))      // static: no event
    rig.pump()
    let events = rig.worker.events.drain()
    let domain = UInt16(rig.compiled.assignment.domains["n"]!)
    #expect(events == [.macSeen(key: L2Table.key(domain: domain, mac: hidden), interface: UInt16(rig.index(of: "a")),
                                generation: rig.compiled.generation)])
    #expect(ports[1].drainCaptured().count == 2)      // forwarding is not held up by learning
  }

  @Test func learnedEntriesAnnounceOnlyWhenStaleOrMoved() throws {
    var rig = try learningRig()
    let ports = rig.ports
    let hidden = MACAddress(2, 0, 0, 0, 0, 0x42)
    try rig.apply { $0.learned = [.init(network: "n", mac: hidden, port: "a")] }
    ports[0].inject(frame(dst: macB, src: hidden))
    rig.pump()
    #expect(rig.worker.events.drain().isEmpty)         // known, fresh, same port
    try rig.apply { $0.learned = [.init(network: "n", mac: hidden, port: "a", stale: true)] }
    ports[0].inject(frame(dst: macB, src: hidden))
    rig.pump()
    #expect(rig.worker.events.drain().count == 1)      // stale: announced again
    // Frames for the learned MAC go to its port.
    ports[1].inject(frame(dst: hidden, src: macB))
    rig.pump()
    #expect(ports[0].drainCaptured().count == 1)
  }
}
