import Buffers
import Fixtures
import Foundation
import IO
import Pipeline
import Tables
import Testing
import Wire

// SNAT with more than one worker (issue 15, item 4): each worker owns its sessions and a
// slice of the router's port range; packets of another worker's sessions are handed to it
// through a lock-free ring (nat-handoff). Deterministic: the rig's workers take turns on
// the test's thread; the ring itself is also run across two threads.

/// Every drop count of `reason` at `node`, over all of the rig's workers.
func allDrops(_ rig: borrowing Rig, _ node: NodeID, _ r: DropReason) -> UInt64 {
  rig.worker.graph.counters.drops(node, r) + rig.others.reduce(0) { $0 + $1.graph.counters.drops(node, r) }
}

@Suite struct NATWorkersTests {
  func udpOut(_ sport: UInt16, to remote: IPv4Address = remoteHost, proto: UInt8 = IPProtocol.udp, dport: UInt16 = 53) -> [UInt8] {
    l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remote, proto: proto, sport: sport, dport: dport)
  }

  /// 40 flows from one VM (the worker that polls its port receives them): each worker creates the sessions its hash
  /// gives it, with ports from its own slice; every reply (all received by worker 0, which
  /// polls the uplink) finds its session on the owner and reaches the VM translated back,
  /// and so does an ICMP error quoting a packet of a session of the other worker.
  @Test func twoWorkersSplitTheSessionsAndEveryReplyFindsItsOwner() throws {
    var rig = try natRig(portHigh: 1024 + 63, workers: 2)
    #expect(rig.others.count == 1)
    for sport in UInt16(5000)..<5040 { rig.ports[0].inject(udpOut(sport)) }
    rig.pump()
    let out = rig.ports[2].drainCaptured()
    #expect(out.count == 40 && out.allSatisfy(checksumsValid))
    let ports = out.map { be16($0, 34) }
    #expect(Set(ports).count == 40 && ports.allSatisfy { (1024...1087).contains($0) })

    let tables = rig.sessionTables
    let part = NATPartition(portLow: 1024, portHigh: 1087, workers: 2)
    #expect(tables[0].live + tables[1].live == 40)
    #expect(tables[0].live > 0 && tables[1].live > 0, "both workers own sessions: \(tables[0].live) + \(tables[1].live)")
    for (w, t) in tables.enumerated() {
      let slice = part.slice(w)
      for s in t.allSessions() { #expect((slice.low...slice.high).contains(s.externalPort), "worker \(w) session on port \(s.externalPort)") }
    }
    // The worker that received the VM's packets handed the other's over.
    let vmWorker = try #require(rig.compiled.poll.firstIndex { $0.contains(PollEntry(rig.index(of: "nat"))) })
    func handedOff(_ w: Int) -> UInt64 { (w == 0 ? rig.worker : rig.others[w - 1]).graph.counters.packets(.natHandoff) }
    #expect(handedOff(vmWorker) == UInt64(tables[1 - vmWorker].live) && handedOff(1 - vmWorker) == 0)

    for (i, f) in out.enumerated() {
      rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.udp, sport: 53,
                                  dport: ports[i]))
      _ = f
    }
    rig.pump()
    let back = rig.ports[0].drainCaptured()
    #expect(back.count == 40 && back.allSatisfy(checksumsValid))
    #expect(Set(back.map { be16($0, 36) }) == Set(UInt16(5000)..<5040))
    #expect(back.allSatisfy { ipAt($0, 30) == IPv4Address(10, 1, 0, 10) })
    // Each reply was translated by the session's owner: its out2in counter, not another's.
    for t in tables { #expect(t.allSessions().allSatisfy { $0.packetsOut2In == 1 && $0.packetsIn2Out == 1 }) }
    // Worker 0 polls the uplink (one queue): it handed worker 1's replies over.
    #expect(handedOff(0) - (vmWorker == 0 ? UInt64(tables[1].live) : 0) == UInt64(tables[1].live))

    // An ICMP error about a packet of one of worker 1's sessions, received by worker 0.
    let owned = try #require(tables[1].allSessions().first)
    let quoted = try #require(out.first { be16($0, 34) == owned.externalPort })
    rig.ports[2].inject(icmpError(dst: gatewayPortMAC, src: upstreamMAC, from: IPv4Address(198, 51, 100, 254), to: snatIP, type: 11, code: 0,
                                  quoting: quoted))
    rig.pump()
    let error = try #require(rig.ports[0].drainCaptured().first)
    #expect(checksumsValid(error) && ipAt(error, 30) == IPv4Address(10, 1, 0, 10) && be16(error, 62) == owned.insidePort)
    #expect(allDrops(rig, .natHandoff, .natHandoffRingFull) == 0 && allDrops(rig, .snatOut2In, .snatNoSession) == 0)

    // A reply for a port no session has is dropped by the slice's owner, as with one worker.
    let free = try #require((UInt16(1024)...1087).first { !ports.contains($0) })
    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.udp, sport: 53, dport: free))
    rig.pump()
    #expect(rig.ports[0].drainCaptured().isEmpty && allDrops(rig, .snatOut2In, .snatNoSession) == 1)

    // Expiry: each worker's clock hand removes its own sessions.
    let now = NATClock.now() &+ 10_000
    for t in tables { _ = t.expire(now: now, budget: t.capacity) }
    #expect(tables.allSatisfy { $0.live == 0 } && tables.reduce(0) { $0 + $1.stat(.expired) } == 40)
  }

  /// Four ports, two per worker: towards one remote endpoint each worker can open two
  /// sessions, whichever flows its hash gives it; the rest are dropped and counted.
  @Test func eachWorkerExhaustsOnlyItsOwnSlice() throws {
    var rig = try natRig(portHigh: 1027, workers: 2)
    for sport in UInt16(6000)..<6010 { rig.ports[0].inject(udpOut(sport, proto: IPProtocol.tcp, dport: 80)) }
    rig.pump()
    let sent = rig.ports[2].drainCaptured()
    let tables = rig.sessionTables
    #expect(tables.map(\.live) == [2, 2] || sent.count < 4, "per worker: \(tables.map(\.live))")
    #expect((2...4).contains(sent.count) && Set(sent.map { be16($0, 34) }).count == sent.count)
    #expect(allDrops(rig, .snatIn2Out, .snatPortsExhausted) == UInt64(10 - sent.count))
    #expect(tables.reduce(0) { $0 + $1.stat(.portsExhausted) } == UInt64(10 - sent.count))
    // The sessions that exist keep working.
    for f in sent {
      rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.tcp, sport: 80,
                                  dport: be16(f, 34)))
    }
    rig.pump()
    #expect(rig.ports[0].drainCaptured().count == sent.count)
  }

  /// The ring between two workers on two threads: 200,000 native frames, each numbered,
  /// arrive complete and in order, with their metadata, and every buffer goes back to the
  /// pool it came from.
  @Test func theHandoffRingCarriesFramesBetweenThreadsInOrder() throws {
    let ring = HandoffRing(capacity: 256)
    let producerPool = NativePool(count: 512), consumerPool = NativePool(count: 512)
    let vectors = UnsafeMutablePointer<PacketVector>.allocate(capacity: NodeID.count)
    for i in 0..<NodeID.count { (vectors + i).initialize(to: .allocate()) }
    defer {
      for i in 0..<NodeID.count { vectors[i].deallocate() }
      vectors.deallocate()
      ring.destroy()
      producerPool.destroy()
      consumerPool.destroy()
    }
    let total = 200_000
    let producer = Thread {
      var sent = 0
      while sent < total {
        guard let b = producerPool.alloc() else { continue }
        let data = b + 64
        data.storeBytes(of: UInt32(sent), as: UInt32.self)
        for k in 4..<60 { data.storeBytes(of: UInt8(truncatingIfNeeded: sent &+ k), toByteOffset: k, as: UInt8.self) }
        var p = Packet(data: data, buffer: b, length: 60, inPort: 7, flags: 0)
        p.context = UInt32(sent)
        if ring.push(p, node: NodeID.snatOut2In.rawValue, pool: producerPool) { sent += 1 } else { producerPool.free(b) }
        if sent % 7 == 0 || sent == total { ring.publish() }
      }
    }
    producer.start()
    var received = 0, bad = 0, noBuffer = 0
    let deadline = Date().addingTimeInterval(60)
    let slot = vectors + Int(NodeID.snatOut2In.rawValue)
    while received < total && Date() < deadline {
      _ = ring.pop(into: vectors, max: 32, pool: consumerPool, noBuffer: &noBuffer)
      for i in 0..<slot.pointee.count {
        let p = slot.pointee.packets[i]
        let n = p.data.load(as: UInt32.self)
        var ok = n == UInt32(received) && p.context == n && p.inPort == 7 && p.length == 60 && p.data - p.buffer == 64
        for k in 4..<60 where p.data.load(fromByteOffset: k, as: UInt8.self) != UInt8(truncatingIfNeeded: Int(n) &+ k) { ok = false }
        if !ok { bad += 1 }
        consumerPool.free(p.buffer)
        received += 1
      }
      slot.pointee.count = 0
    }
    #expect(received == total && bad == 0 && noBuffer == 0)
    while producer.isExecuting { usleep(1000) }
    #expect(producerPool.available == 512 && consumerPool.available == 512 && ring.count == 0)
  }
}
