import Tables
import Testing

@Suite struct SessionTableTests {
  /// 1M live sessions on one external IP (endpoint-dependent ports), every one found from
  /// both sides; then half removed by expiry in small steps, and the rest still found.
  @Test func holdsAMillionSessionsAndExpiresThemIncrementally() throws {
    let n = 1 << 20
    let t = SessionTable(capacity: n, timeouts: NATTimeouts(tcpEstablished: 100, tcpTransitory: 10, udp: 10, icmp: 10))
    defer { t.destroy() }
    var rng = SystemRandomNumberGenerator()
    var made: [(inside: UInt32, port: UInt16, remote: UInt32, ext: UInt16, k: Int)] = []
    made.reserveCapacity(n)
    let ext: UInt32 = 0xc000_0201
    for i in 0..<n {
      let inside = 0x0a01_0000 | UInt32(i & 0xffff), remote = 0xc612_0000 | (UInt32.random(in: 0...UInt32.max, using: &rng) & 0x1_ffff)
      let port = UInt16(truncatingIfNeeded: 1024 + i >> 16)
      let k = t.create(proto: 17, externalIP: ext, insideIP: inside, insidePort: port, remoteIP: remote, remotePort: 53,
                       portLow: 1024, portHigh: 65535, now: UInt32(i & 1))     // odd ones are newer
      guard k >= 0 else { Issue.record("create failed at \(i): \(k)"); return }
      made.append((inside, port, remote, t.session(k).pointee.externalPort, k))
    }
    #expect(t.live == n)
    #expect(t.create(proto: 17, externalIP: ext, insideIP: 1, insidePort: 1, remoteIP: 1, remotePort: 1, portLow: 1024, portHigh: 65535,
                     now: 0) == -2)
    #expect(t.stat(.tableFull) == 1)
    var misses = 0
    for m in made where t.lookupIn2Out(externalIP: ext, proto: 17, insideIP: m.inside, insidePort: m.port, remoteIP: m.remote, remotePort: 53) != m.k
      || t.lookupOut2In(externalIP: ext, proto: 17, externalPort: m.ext, remoteIP: m.remote, remotePort: 53) != m.k { misses += 1 }
    #expect(misses == 0)
    // At now = 10.5 → 10: sessions stamped 0 are idle 10 s (not > 10), stamped 1 idle 9 s: none expire.
    #expect(t.expire(now: 10, budget: n) == 0)
    // At now = 11: the even ones (stamped 0) expire; in steps of 4096 slots.
    var removed = 0
    for _ in 0..<(n / 4096) { removed += t.expire(now: 11, budget: 4096) }
    #expect(removed == n / 2 && t.live == n / 2)
    misses = 0
    for (i, m) in made.enumerated() {
      let want = i & 1 == 1 ? m.k : -1
      if t.lookupIn2Out(externalIP: ext, proto: 17, insideIP: m.inside, insidePort: m.port, remoteIP: m.remote, remotePort: 53) != want
        || t.lookupOut2In(externalIP: ext, proto: 17, externalPort: m.ext, remoteIP: m.remote, remotePort: 53) != want { misses += 1 }
    }
    #expect(misses == 0)
    #expect(t.allSessions().count == n / 2)
  }

  @Test func portSearchIsBoundedAndPerRemoteEndpoint() {
    let t = SessionTable(capacity: 1024)
    defer { t.destroy() }
    for p in UInt16(1)...3 {
      #expect(t.create(proto: 6, externalIP: 9, insideIP: 1, insidePort: p, remoteIP: 7, remotePort: 80, portLow: 2000, portHigh: 2002, now: 0) >= 0)
    }
    #expect(t.create(proto: 6, externalIP: 9, insideIP: 1, insidePort: 4, remoteIP: 7, remotePort: 80, portLow: 2000, portHigh: 2002, now: 0) == -1)
    // The same ports serve another remote endpoint, and another protocol.
    #expect(t.create(proto: 6, externalIP: 9, insideIP: 1, insidePort: 4, remoteIP: 8, remotePort: 80, portLow: 2000, portHigh: 2002, now: 0) >= 0)
    #expect(t.create(proto: 17, externalIP: 9, insideIP: 1, insidePort: 4, remoteIP: 7, remotePort: 80, portLow: 2000, portHigh: 2002, now: 0) >= 0)
    #expect(t.stat(.portsExhausted) == 1 && t.live == 5)
  }
}
