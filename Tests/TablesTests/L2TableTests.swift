import Foundation
import Synchronization
import Tables
import Testing
import Wire

@Suite struct L2TableTests {
  @Test func lookupHitsAndMisses() {
    var rng = SystemRandomNumberGenerator()
    var entries: [(domain: UInt16, mac: MACAddress, value: UInt32)] = []
    var seen = Set<UInt64>()
    while entries.count < 10_000 {
      let d = UInt16.random(in: 1...8, using: &rng)
      let m = MACAddress(rawValue: UInt64.random(in: 1...0xffff_ffff_ffff, using: &rng))
      if seen.insert(L2Table.key(domain: d, mac: m)).inserted { entries.append((d, m, UInt32.random(in: 0...UInt32.max, using: &rng))) }
    }
    let t = L2Table(entries)
    defer { t.destroy() }
    #expect(t.count == entries.count)
    for e in entries { #expect(t.lookup(domain: e.domain, mac: e.mac) == e.value) }
    var misses = 0
    for _ in 0..<10_000 {
      let d = UInt16.random(in: 1...8, using: &rng)
      let m = MACAddress(rawValue: UInt64.random(in: 1...0xffff_ffff_ffff, using: &rng))
      if !seen.contains(L2Table.key(domain: d, mac: m)) { #expect(t.lookup(domain: d, mac: m) == nil); misses += 1 }
    }
    #expect(misses > 9_000)
  }

  @Test func sameMACInTwoDomainsAreTwoEntries() {
    let a = MACAddress(0xfa, 0x16, 0x3e, 0, 0, 1)
    let t = L2Table([(1, a, 10), (2, a, 20), (1, a, 11), (0, a, 99)])   // duplicate replaces; domain 0 ignored
    defer { t.destroy() }
    #expect(t.count == 2)
    #expect(t.lookup(domain: 1, mac: a) == 11)
    #expect(t.lookup(domain: 2, mac: a) == 20)
    #expect(t.lookup(domain: 3, mac: a) == nil)
    #expect(t.lookup(domain: 0, mac: a) == nil)
    #expect(t.entries.map(\.value) == [11, 20])
  }

  @Test func emptyTableMissesEverything() {
    let t = L2Table([])
    defer { t.destroy() }
    #expect(t.lookup(domain: 1, mac: .broadcast) == nil)
  }
}

final class Generation: Sendable {
  let value: Int
  let alive: Atomic<Bool>
  init(_ v: Int) { value = v; alive = Atomic(true) }
}

final class StressState: Sendable {
  let stop = Atomic<Bool>(false)
  let violations = Atomic<Int>(0)
  let reads = Atomic<Int>(0)
}

/// RCU stress (DPDK test_lpm_perf style): readers on their own threads check that a
/// snapshot they hold is never retired under them, and never goes back in time, while a
/// writer publishes new ones. Real threads, not tasks: a spinning reader must not starve
/// the writer of the cooperative pool.
@Test func rcuReadersNeverSeeARetiredSnapshot() {
  let qsbr = QSBR(workers: 2)
  let box = RCUBox(Generation(0), qsbr: qsbr, retire: { $0.alive.store(false, ordering: .relaxed) })
  let st = StressState()
  var readers: [Thread] = []
  let done = DispatchGroup()
  for w in 0..<2 {
    done.enter()
    qsbr.online(worker: w)
    let t = Thread {
      var last = 0
      while !st.stop.load(ordering: .relaxed) {
        for _ in 0..<256 {
          box.current._withUnsafeGuaranteedRef { g in
            if !g.alive.load(ordering: .relaxed) { st.violations.add(1, ordering: .relaxed) }
            if g.value < last { st.violations.add(1, ordering: .relaxed) }
            last = g.value
          }
        }
        st.reads.add(256, ordering: .relaxed)
        qsbr.quiescent(worker: w)
      }
      qsbr.offline(worker: w)
      done.leave()
    }
    readers.append(t)
    t.start()
  }
  for i in 1...2_000 { box.update { _ in Generation(i) } }
  st.stop.store(true, ordering: .relaxed)
  #expect(done.wait(timeout: .now() + 30) == .success)
  #expect(st.violations.load(ordering: .relaxed) == 0)
  #expect(st.reads.load(ordering: .relaxed) > 0)
  #expect(box.snapshot().value == 2_000)
}

@Suite struct EventRingTests {
  @Test func eventsComeOutInOrderAndOverflowIsCounted() {
    let r = EventRing(capacity: 16)
    for i in 0..<16 { #expect(r.push(.macSeen(key: UInt64(i), interface: UInt16(i), generation: 7))) }
    #expect(!r.push(.macSeen(key: 99, interface: 0, generation: 7)))
    #expect(r.overflows.load(ordering: .relaxed) == 1)
    let got = r.drain()
    #expect(got.map(\.key) == (0..<16).map(UInt64.init))
    #expect(got.allSatisfy { $0.value == 7 && $0.kind == .macSeen })
    #expect(r.drain().isEmpty)
    #expect(r.push(.macSeen(key: 100, interface: 1, generation: 8)))   // room again after draining
  }

  /// One producer thread, one consumer thread: every event arrives once, in order.
  @Test func producerAndConsumerOnTwoThreads() {
    let r = EventRing(capacity: 256)
    let total = 100_000
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
      var i = 0
      while i < total { if r.push(.macSeen(key: UInt64(i), interface: 0, generation: 1)) { i += 1 } }
      done.signal()
    }
    t.start()
    var next: UInt64 = 0
    var ok = true
    while next < UInt64(total) {
      for e in r.drain() {
        if e.key != next { ok = false }
        next += 1
      }
    }
    done.wait()
    #expect(ok)
    #expect(next == UInt64(total))
  }
}
