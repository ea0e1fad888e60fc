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

/// Three memory ports (0, 1, 2) and a worker with A on 0, B on 1, C on 2.
struct Rig: ~Copyable {
  let ports: [MemoryPort]
  var worker: Worker
  let qsbr = QSBR(workers: 1)
  let tables: RCUBox<TableSnapshot>

  init(entries: [(MACAddress, UInt16)] = [(macA, 0), (macB, 1), (macC, 2)], poolSize: Int = 1024) {
    ports = (0..<3).map { _ in MemoryPort() }
    tables = RCUBox(TableSnapshot(generation: 1, macTable: MACTable(entries)), qsbr: qsbr, retire: TableSnapshot.retire)
    worker = Worker(index: 0, ports: ports.map { .memory($0) }, tables: tables, poolSize: poolSize)
    qsbr.online(worker: 0)
  }
  mutating func pump() { while worker.poll() > 0 {} }
  deinit {
    qsbr.offline(worker: 0)
    worker.destroy()
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
    var rig = Rig(entries: [(macA, 0), (macB, 1), (macC, 7)])   // port 7 does not exist
    rig.ports[0].inject(frame(dst: MACAddress(2, 0, 0, 0, 0, 9), src: macA))   // unknown destination
    rig.ports[0].inject(frame(dst: .broadcast, src: macA))                     // no flooding yet
    rig.ports[0].inject(frame(dst: macA, src: macB))                           // hairpin
    rig.ports[0].inject(frame(dst: macC, src: macA))                           // no such port
    rig.ports[0].inject(frame(dst: macB, src: MACAddress(1, 0, 0x5e, 0, 0, 1)))   // multicast source
    rig.ports[0].inject(Array(frame(dst: macB, src: macA)[0..<13]))           // runt
    rig.ports[0].inject(Array(frame(dst: macB, src: macA, etherType: EtherType.vlan)[0..<16]))   // cut tag
    rig.ports[0].inject(frame(dst: macB, src: macA))                           // the one good frame
    rig.pump()
    let c = rig.worker.graph.counters
    #expect(c.drops(.l2Forward, .l2UnknownDestination) == 2)
    #expect(c.drops(.l2Forward, .l2Hairpin) == 1)
    #expect(c.drops(.l2Forward, .l2NoOutputPort) == 1)
    #expect(c.drops(.ethernetInput, .l2SourceMulticast) == 1)
    #expect(c.drops(.ethernetInput, .l2TooShort) == 1)
    #expect(c.drops(.ethernetInput, .l2VlanTooShort) == 1)
    #expect(c.packets(.errorDrop) == 7)
    #expect(rig.ports[1].drainCaptured().count == 1)
    #expect(rig.ports[2].drainCaptured().isEmpty)
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
    // Move B to port 2. `update` waits for a grace period, so the worker must be offline
    // (or polling on another thread); here it is the same thread, so go offline first.
    rig.qsbr.offline(worker: 0)
    rig.tables.update { old in
      TableSnapshot(generation: old.generation + 1, macTable: MACTable([(macA, 0), (macB, 2), (macC, 2)]))
    }
    rig.qsbr.online(worker: 0)
    rig.ports[0].inject(frame(dst: macB, src: macA))
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.ports[2].drainCaptured().count == 1)
  }
}
