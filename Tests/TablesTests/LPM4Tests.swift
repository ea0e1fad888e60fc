import Tables
import Testing
import Wire

/// A slow, obviously correct LPM: one dictionary per prefix length, longest first.
struct ReferenceLPM {
  var byLength = [[UInt32: Int]](repeating: [:], count: 33)
  init(_ routes: [LPM4.Route]) {
    for r in routes {
      let mask: UInt32 = r.length == 0 ? 0 : ~0 << (32 - UInt32(r.length))
      byLength[r.length][r.prefix.value & mask] = r.nextHop
    }
  }
  func lookup(_ a: UInt32) -> Int {
    for l in stride(from: 32, through: 0, by: -1) {
      let mask: UInt32 = l == 0 ? 0 : ~0 << (32 - UInt32(l))
      if let n = byLength[l][a & mask] { return n }
    }
    return -1
  }
}

/// Deterministic xorshift, so failures reproduce.
struct XorShift {
  var s: UInt64
  mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
}

func ip(_ s: String) -> IPv4Address { IPv4Address(s)! }

@Suite struct LPM4Tests {
  @Test func longestPrefixWinsAtEveryLevel() {
    let t = LPM4([
      .init(prefix: ip("0.0.0.0"), length: 0, nextHop: 0),
      .init(prefix: ip("10.0.0.0"), length: 8, nextHop: 1),
      .init(prefix: ip("10.1.0.0"), length: 16, nextHop: 2),
      .init(prefix: ip("10.1.2.0"), length: 23, nextHop: 3),
      .init(prefix: ip("10.1.2.0"), length: 24, nextHop: 4),
      .init(prefix: ip("10.1.2.128"), length: 25, nextHop: 5),
      .init(prefix: ip("10.1.2.200"), length: 32, nextHop: 6),
      .init(prefix: ip("192.168.7.99"), length: 24, nextHop: 7),   // host bits ignored
    ])
    defer { t.destroy() }
    let cases: [(String, Int)] = [
      ("1.2.3.4", 0), ("10.200.0.1", 1), ("10.1.255.255", 2), ("10.1.3.1", 3), ("10.1.2.1", 4), ("10.1.2.127", 4),
      ("10.1.2.128", 5), ("10.1.2.199", 5), ("10.1.2.200", 6), ("10.1.2.201", 5), ("10.1.2.255", 5), ("192.168.7.1", 7),
      ("192.168.8.1", 0),
    ]
    for (a, want) in cases { #expect(t.lookup(ip(a).value) == want, "\(a)") }
    #expect(t.groupCount == 3)   // 10.1/16 → one level-2 group, 10.1.2/24 → one level-3, 192.168/16 → one level-2
  }

  /// The builder's host routes (adjacencies, receive entries) decided by lookups in the
  /// table so far give the same table as painting them with the routes at once.
  @Test func builderHostRoutesMatchAOneShotBuild() {
    var rng = XorShift(s: 0x9e37_79b9_7f4a_7c15)
    var routes: [LPM4.Route] = (0..<2000).map { i in
      let len = Int(rng.next() % 33)
      return .init(prefix: IPv4Address(UInt32(truncatingIfNeeded: rng.next())), length: len, nextHop: i)
    }
    var b = LPM4.Builder(routes)
    var hosts: [UInt32] = []
    for i in 0..<500 {
      let a = UInt32(truncatingIfNeeded: rng.next())
      // Only where the table so far has a route with an even next hop (as adjacencies
      // go only where the connected route is the best one).
      guard b.lookup(a) >= 0, b.lookup(a) % 2 == 0 else { continue }
      b.setHost(a, nextHop: 10_000 + i)
      routes.append(.init(prefix: IPv4Address(a), length: 32, nextHop: 10_000 + i))
      hosts.append(a)
    }
    let built = b.finish()
    defer { built.destroy() }
    #expect(hosts.count > 50)
    #expect(built.routeCount == routes.count)
    let reference = ReferenceLPM(routes)
    for a in hosts { #expect(built.lookup(a) == reference.lookup(a)) }
    for _ in 0..<20_000 {
      let a = UInt32(truncatingIfNeeded: rng.next())
      #expect(built.lookup(a) == reference.lookup(a), "\(IPv4Address(a))")
    }
  }

  @Test func noRouteIsMinusOneAndLaterDuplicateWins() {
    let t = LPM4([.init(prefix: ip("10.0.0.0"), length: 8, nextHop: 1), .init(prefix: ip("10.0.0.0"), length: 8, nextHop: 9)])
    defer { t.destroy() }
    #expect(t.lookup(ip("11.0.0.1").value) == -1)
    #expect(t.lookup(ip("10.9.9.9").value) == 9)
    let e = LPM4.empty()
    #expect(e.lookup(0) == -1 && e.lookup(.max) == -1)
    e.destroy()
  }

  /// 200,000 random prefixes of every length (weighted towards /24 and /32 as in a
  /// provider table), checked against the reference on random addresses and on the first
  /// and last address of every prefix; the batch lookup agrees with the single one.
  @Test func randomTableMatchesTheReference() {
    var rng = XorShift(s: 0x9e37_79b9_7f4a_7c15)
    let lengths = [8, 12, 16, 18, 20, 22, 24, 24, 24, 24, 26, 28, 30, 32, 32, 0]
    var routes: [LPM4.Route] = []
    for i in 0..<200_000 {
      let l = i == 0 ? 0 : lengths[Int(rng.next() % UInt64(lengths.count - 1))]
      routes.append(.init(prefix: IPv4Address(UInt32(truncatingIfNeeded: rng.next())), length: l, nextHop: Int(rng.next() % 100_000)))
    }
    let t = LPM4(routes)
    defer { t.destroy() }
    let ref = ReferenceLPM(routes)
    var queries: [UInt32] = []
    for _ in 0..<100_000 { queries.append(UInt32(truncatingIfNeeded: rng.next())) }
    for r in routes.prefix(20_000) {
      let mask: UInt32 = r.length == 0 ? 0 : ~0 << (32 - UInt32(r.length))
      queries.append(r.prefix.value & mask)
      queries.append(r.prefix.value | ~mask)
    }
    var mismatches = 0
    for q in queries where t.lookup(q) != ref.lookup(q) { mismatches += 1 }
    #expect(mismatches == 0)
    var out = [Int32](repeating: 0, count: 256)
    var batchMismatches = 0
    for chunk in stride(from: 0, to: queries.count - 256, by: 256) {
      queries.withUnsafeBufferPointer { q in t.lookup(q.baseAddress! + chunk, count: 256, into: &out) }
      for i in 0..<256 where Int(out[i]) != t.lookup(queries[chunk + i]) { batchMismatches += 1 }
    }
    #expect(batchMismatches == 0)
  }

  /// The scale: one million prefixes in one VRF, built and looked up.
  @Test func oneMillionPrefixes() {
    var rng = XorShift(s: 12345)
    var routes: [LPM4.Route] = []
    routes.reserveCapacity(1_000_000)
    for _ in 0..<1_000_000 {
      let l = [16, 20, 22, 24, 24, 24, 28, 32][Int(rng.next() % 8)]
      routes.append(.init(prefix: IPv4Address(UInt32(truncatingIfNeeded: rng.next())), length: l, nextHop: Int(rng.next() % 1000)))
    }
    let t = LPM4(routes)
    defer { t.destroy() }
    #expect(t.routeCount == 1_000_000)
    #expect(t.bytes < 512 << 20, "\(t.bytes >> 20) MiB")
    // Spot-check the last 2,000 routes that no later, longer route covers.
    let ref = ReferenceLPM(routes)
    for r in routes.suffix(2_000) {
      #expect(t.lookup(r.prefix.value) == ref.lookup(r.prefix.value))
    }
  }
}
