import Buffers
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

/// Memory ports and a worker. By default: one network, A on 0, B on 1, C on 2.
struct Rig: ~Copyable {
  let ports: [MemoryPort]
  var worker: Worker
  let qsbr = QSBR(workers: 1)
  let tables: RCUBox<DataplaneSnapshot>

  init(entries: [(MACAddress, Int)] = [(macA, 0), (macB, 1), (macC, 2)], portCount: Int = 3, poolSize: Int = 1024) {
    let ports = (0..<portCount).map { _ in MemoryPort() }
    self.init(ports: ports, snapshot: .singleNetwork(ports: ports.map { .memory($0) }, macs: entries), poolSize: poolSize)
  }

  init(ports: [MemoryPort], snapshot: DataplaneSnapshot, poolSize: Int = 1024, sessions: SessionTable? = nil) {
    self.ports = ports
    tables = RCUBox(snapshot, qsbr: qsbr, retire: DataplaneSnapshot.retire)
    worker = Worker(index: 0, tables: tables, maxPorts: 16, poolSize: poolSize, sessions: sessions)
    qsbr.online(worker: 0)
  }

  mutating func pump() { while worker.poll() > 0 {} }

  /// Publishes a new snapshot. `update` waits for a grace period, and the worker polls
  /// on this same thread, so it goes offline around the update.
  func publish(_ s: DataplaneSnapshot) {
    qsbr.offline(worker: 0)
    tables.update { _ in s }
    qsbr.online(worker: 0)
  }

  deinit {
    qsbr.offline(worker: 0)
    worker.destroy()
    for p in ports { p.close() }
  }
}

@Suite struct L2GraphTests {
  @Test func knownUnicastGoesToItsPortUnchanged() {
    var rig = Rig()
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

  @Test func dropsAreCountedWithTheirReason() {
    var rig = Rig(entries: [(macA, 0), (macB, 1), (macC, 7)], portCount: 2)   // port 7 does not exist
    rig.ports[0].inject(frame(dst: macA, src: macB))                           // hairpin
    rig.ports[0].inject(frame(dst: macC, src: macA))                           // no such port
    rig.ports[0].inject(frame(dst: macB, src: MACAddress(1, 0, 0x5e, 0, 0, 1)))   // multicast source
    rig.ports[0].inject(Array(frame(dst: macB, src: macA)[0..<13]))           // runt
    rig.ports[0].inject(Array(frame(dst: macB, src: macA, etherType: EtherType.vlan)[0..<16]))   // cut tag
    rig.ports[0].inject(frame(dst: macB, src: macA))                           // the one good frame
    rig.pump()
    let c = rig.worker.graph.counters
    #expect(c.drops(.l2Forward, .l2Hairpin) == 1)
    #expect(c.drops(.l2Forward, .l2NoOutputPort) == 1)
    #expect(c.drops(.ethernetInput, .l2SourceMulticast) == 1)
    #expect(c.drops(.ethernetInput, .l2TooShort) == 1)
    #expect(c.drops(.ethernetInput, .l2VlanTooShort) == 1)
    #expect(c.packets(.errorDrop) == 5)
    #expect(rig.ports[1].drainCaptured().count == 1)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func mixedDestinationsInOneVectorAreSplitPerPort() {
    var rig = Rig()
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

  @Test func poolExhaustionIsACountedDropNotACrash() {
    var rig = Rig(poolSize: 4)
    for i in 0..<10 { rig.ports[0].inject(frame(dst: macB, src: macA, fill: UInt8(i))) }
    // Each poll may take 4 buffers; they return at tx, so everything gets through in rounds.
    rig.pump()
    #expect(rig.ports[1].drainCaptured().count == 10)
    #expect(rig.worker.pool.available == 4)
  }

  @Test func tablePublishedWhileRunningTakesEffectOnTheNextBurst() {
    var rig = Rig()
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().count == 1)
    // Move B to port 2.
    rig.publish(.singleNetwork(ports: rig.ports.map { .memory($0) }, macs: [(macA, 0), (macB, 2), (macC, 2)], generation: 2))
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.ports[2].drainCaptured().count == 1)
  }
}

/// Two tenants, identical MACs: A and B on ports 0/1 in domain 1, A and B again on
/// ports 2/3 in domain 2, port 4 attached to nothing.
func twoTenants(_ ports: [MemoryPort], security: Bool = true) -> DataplaneSnapshot {
  DataplaneSnapshot(
    generation: 1, ports: ports.map { .memory($0) },
    interfaces: [InterfaceInfo(domain: 1, portSecurity: security, mac: macA), InterfaceInfo(domain: 1, portSecurity: security, mac: macB),
                 InterfaceInfo(domain: 2, portSecurity: security, mac: macA), InterfaceInfo(domain: 2, portSecurity: security, mac: macB),
                 InterfaceInfo(domain: 0, portSecurity: true, mac: .zero)],
    poll: [[0, 1, 2, 3, 4]], domains: 2,
    l2: [(1, macA, 0), (1, macB, 1), (2, macA, 2), (2, macB, 3)])
}

@Suite struct TenantIsolationTests {
  @Test func unicastStaysInItsNetwork() {
    let ports = (0..<5).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: twoTenants(ports))
    let t1 = frame(dst: macB, src: macA, fill: 1), t2 = frame(dst: macB, src: macA, fill: 2)
    ports[0].inject(t1)
    ports[2].inject(t2)
    rig.pump()
    #expect(ports[1].drainCaptured() == [t1])
    #expect(ports[3].drainCaptured() == [t2])
  }

  @Test func broadcastFloodsOnlyToItsOwnNetwork() {
    let ports = (0..<5).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: twoTenants(ports))
    let arp = arpFrame(src: macA, senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 9))
    ports[0].inject(arp)
    rig.pump()
    #expect(ports[1].drainCaptured() == [arp])
    #expect(ports[0].drainCaptured().isEmpty)   // never back to the sender
    #expect(ports[2].drainCaptured().isEmpty)
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(ports[4].drainCaptured().isEmpty)
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }

  @Test func unknownUnicastFloodsInNetworkAndCountsWhenAlone() {
    let ports = (0..<5).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: twoTenants(ports))
    let unknown = frame(dst: MACAddress(2, 0, 0, 0, 0, 0x77), src: macA)
    ports[0].inject(unknown)
    rig.pump()
    #expect(ports[1].drainCaptured() == [unknown])
    // Tenant 1 loses port 1: now nobody else is in the network.
    var s = twoTenants(ports)
    s = DataplaneSnapshot(generation: 2, ports: ports.map { .memory($0) },
                          interfaces: [InterfaceInfo(domain: 1, portSecurity: true, mac: macA), InterfaceInfo(domain: 0, portSecurity: true, mac: .zero),
                                       InterfaceInfo(domain: 2, portSecurity: true, mac: macA), InterfaceInfo(domain: 2, portSecurity: true, mac: macB),
                                       InterfaceInfo(domain: 0, portSecurity: true, mac: .zero)],
                          poll: [[0, 1, 2, 3, 4]], domains: 2, l2: [(1, macA, 0), (2, macA, 2), (2, macB, 3)])
    rig.publish(s)
    ports[0].inject(frame(dst: macB, src: macA))   // B of tenant 1 is gone; tenant 2's B must not get it
    rig.pump()
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.l2Flood, .l2FloodNoMembers) == 1)
  }

  @Test func spoofedSourceAndUnattachedInterfaceAreDropped() {
    let ports = (0..<5).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: twoTenants(ports))
    ports[0].inject(frame(dst: macB, src: macC))   // C is not port 0's MAC
    ports[4].inject(frame(dst: macB, src: macA))   // port 4 belongs to no network
    rig.pump()
    #expect(ports[1].drainCaptured().isEmpty)
    #expect(ports[3].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.l2Input, .l2SourceSpoofed) == 1)
    #expect(rig.worker.graph.counters.drops(.l2Input, .l2InterfaceUnattached) == 1)
  }

  @Test func remoteDestinationIsACountedDrop() {
    let ports = (0..<2).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: DataplaneSnapshot(
      generation: 1, ports: ports.map { .memory($0) },
      interfaces: [InterfaceInfo(domain: 1, portSecurity: true, mac: macA), InterfaceInfo(domain: 1, portSecurity: true, mac: macB)],
      poll: [[0, 1]], domains: 1, l2: [(1, macA, 0), (1, macB, 1), (1, macC, L2Value.remote)]))
    ports[0].inject(frame(dst: macC, src: macA))
    rig.pump()
    #expect(rig.worker.graph.counters.drops(.l2Forward, .l2RemoteUnreachable) == 1)
    #expect(ports[1].drainCaptured().isEmpty)
  }
}

@Suite struct L2LearningNodeTests {
  /// Port 0 on a learning network with port security off; port 1 with a static MAC (B).
  func snapshot(_ ports: [MemoryPort], extra: [(domain: UInt16, mac: MACAddress, value: UInt32)] = []) -> DataplaneSnapshot {
    DataplaneSnapshot(
      generation: 3, ports: ports.map { .memory($0) },
      interfaces: [InterfaceInfo(domain: 1, portSecurity: false, mac: macA, learning: true),
                   InterfaceInfo(domain: 1, portSecurity: true, mac: macB, learning: true)],
      poll: [[0, 1]], domains: 1, l2: [(1, macA, 0), (1, macB, 1)] + extra)
  }

  @Test func unknownSourcesAreAnnouncedStaticOnesNot() {
    let ports = (0..<2).map { _ in MemoryPort() }
    var rig = Rig(ports: ports, snapshot: snapshot(ports))
    let hidden = MACAddress(2, 0, 0, 0, 0, 0x42)
    ports[0].inject(frame(dst: macB, src: hidden))    // a MAC behind port 0
    ports[0].inject(frame(dst: macB, src: macA))      // port 0's own, static: no event
    ports[1].inject(frame(dst: macA, src: macB))      // static: no event
    rig.pump()
    let events = rig.worker.events.drain()
    #expect(events == [.macSeen(key: L2Table.key(domain: 1, mac: hidden), interface: 0, generation: 3)])
    #expect(ports[1].drainCaptured().count == 2)      // forwarding is not held up by learning
  }

  @Test func learnedEntriesAnnounceOnlyWhenStaleOrMoved() {
    let ports = (0..<2).map { _ in MemoryPort() }
    let hidden = MACAddress(2, 0, 0, 0, 0, 0x42)
    var rig = Rig(ports: ports, snapshot: snapshot(ports, extra: [(1, hidden, L2Value.local(0) | L2Value.learned)]))
    ports[0].inject(frame(dst: macB, src: hidden))
    rig.pump()
    #expect(rig.worker.events.drain().isEmpty)         // known, fresh, same port
    rig.publish(snapshot(ports, extra: [(1, hidden, L2Value.local(0) | L2Value.learned | L2Value.stale)]))
    ports[0].inject(frame(dst: macB, src: hidden))
    rig.pump()
    #expect(rig.worker.events.drain().count == 1)      // stale: announced again
    // Frames for the learned MAC go to its port.
    ports[1].inject(frame(dst: hidden, src: macB))
    rig.pump()
    #expect(ports[0].drainCaptured().count == 1)
  }
}
