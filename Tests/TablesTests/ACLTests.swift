import Tables
import TestSupport
import Testing
import Wire

/// The security classifier against a brute-force reference, the TCP tracking table against
/// its readable form, and the shared connection table.
@Suite struct ACLClassifierTests {
  typealias Rng = SplitMix64

  /// Random prefixes (clustered in 10.0.0.0/16 so that they overlap and nest) and port ranges.
  func randomRules(_ n: Int, _ r: inout Rng) -> [ACLClassifier.Rule] {
    (0..<n).map { i in
      let length = [0, 8, 16, 20, 24, 28, 30, 32][Int(r.next(below: 8))]
      let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - UInt32(length))
      let address = (0x0a00_0000 | UInt32(r.next(below: 1 << 16))) & mask
      let lo = UInt32(r.next(below: 65536)), span = UInt32(r.next(below: 4) == 0 ? 65536 : 200)
      return ACLClassifier.Rule(addressLow: address, addressHigh: address | ~mask, keyLow: lo, keyHigh: min(lo + span, 65535), rule: UInt32(i))
    }
  }

  @Test func agreesWithBruteForceOnRandomRuleSets() {
    var r = Rng(seed: 7)
    for n in [1, 2, 5, 50, 300] {
      let rules = randomRules(n, &r)
      var arena: [UInt32] = []
      let t = ACLClassifier.build(rules, into: &arena)
      arena.withUnsafeBufferPointer { a in
        for _ in 0..<5000 {
          let address = r.next(below: 4) == 0 ? UInt32(truncatingIfNeeded: r.next()) : 0x0a00_0000 | UInt32(r.next(below: 1 << 16))
          let key = UInt32(r.next(below: 65536))
          let expected = rules.filter { $0.addressLow <= address && address <= $0.addressHigh && $0.keyLow <= key && key <= $0.keyHigh }
            .map(\.rule).min()
          let got = ACLClassifier.lookup(a.baseAddress!, table: t, address: address, key: key)
          #expect(got == expected, "\(n) rules, address \(IPv4Address(address)) key \(key)")
          if got != expected { return }
        }
      }
    }
  }

  @Test func emptyAndFullRangeTables() {
    var arena: [UInt32] = []
    #expect(ACLClassifier.build([], into: &arena) == 0)
    let t = ACLClassifier.build([.init(addressLow: 0, addressHigh: .max, keyLow: 0, keyHigh: 65535, rule: 9)], into: &arena)
    arena.withUnsafeBufferPointer { a in
      #expect(ACLClassifier.lookup(a.baseAddress!, table: t, address: .max, key: 65535) == 9)
      #expect(ACLClassifier.lookup(a.baseAddress!, table: t, address: 0, key: 0) == 9)
      #expect(ACLClassifier.lookup(a.baseAddress!, table: 0, address: 0, key: 0) == nil)
    }
  }
}

@Suite struct TCPTrackingTests {
  // The table the packed rows encode (Linux nf_conntrack_proto_tcp's), written out:
  // columns NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE SYN_SENT2.
  static let original: [String: [String]] = [
    "syn": ["SS", "SS", "IG", "IG", "IG", "IG", "IG", "SS", "SS", "S2"],
    "synack": ["IV", "IV", "IG", "IG", "IG", "IG", "IG", "IG", "IG", "SR"],
    "fin": ["IV", "IV", "FW", "FW", "LA", "LA", "LA", "TW", "CL", "IV"],
    "ack": ["ES", "IV", "ES", "ES", "CW", "CW", "TW", "TW", "CL", "IV"],
    "rst": ["IV", "CL", "CL", "CL", "CL", "CL", "CL", "CL", "CL", "CL"],
    "none": ["IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV"],
  ]
  static let reply: [String: [String]] = [
    "syn": ["IV", "S2", "IV", "IV", "IV", "IV", "IV", "IV", "IV", "S2"],
    "synack": ["IV", "SR", "IG", "IG", "IG", "IG", "IG", "IG", "IG", "SR"],
    "fin": ["IV", "IV", "FW", "FW", "LA", "LA", "LA", "TW", "CL", "IV"],
    "ack": ["IV", "IG", "SR", "ES", "CW", "CW", "TW", "TW", "CL", "IG"],
    "rst": ["IV", "CL", "CL", "CL", "CL", "CL", "CL", "CL", "CL", "CL"],
    "none": ["IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV", "IV"],
  ]
  static let code: [String: UInt8] = ["NO": 0, "SS": 1, "SR": 2, "ES": 3, "FW": 4, "CW": 5, "LA": 6, "TW": 7, "CL": 8, "S2": 9,
                                      "IV": TCPTracking.invalid, "IG": TCPTracking.ignore]
  static let flags: [String: UInt8] = ["syn": 0x02, "synack": 0x12, "fin": 0x11, "ack": 0x10, "rst": 0x14, "none": 0x00]

  @Test func everyTransitionMatchesTheTable() {
    for (isReply, table) in [(false, Self.original), (true, Self.reply)] {
      for (name, row) in table {
        for state in 0..<10 {
          #expect(TCPTracking.next(UInt8(state), flags: Self.flags[name]!, isReply: isReply) == Self.code[row[state]]!,
                  "\(isReply ? "reply" : "original") \(name) in \(TCPTracking.names[state])")
        }
      }
    }
  }

  @Test func aHandshakeAndACloseWalkTheStates() {
    var s = TCPTracking.next(TCPTracking.none, flags: 0x02, isReply: false)
    #expect(s == TCPTracking.synSent)
    s = TCPTracking.next(s, flags: 0x12, isReply: true)
    #expect(s == TCPTracking.synRecv)
    s = TCPTracking.next(s, flags: 0x10, isReply: false)
    #expect(s == TCPTracking.established)
    s = TCPTracking.next(s, flags: 0x11, isReply: false)
    #expect(s == TCPTracking.finWait)
    s = TCPTracking.next(s, flags: 0x11, isReply: true)
    #expect(s == TCPTracking.lastAck)
    s = TCPTracking.next(s, flags: 0x10, isReply: false)
    #expect(s == TCPTracking.timeWait)
    #expect(TCPTracking.next(TCPTracking.none, flags: 0x12, isReply: false) == TCPTracking.invalid)   // SYN/ACK starts nothing
  }
}

@Suite struct ConnTrackTests {
  @Test func bothDirectionsFindOneEntryAndZonesSeparate() {
    let ct = ConnTrack(capacity: 1024)
    defer { ct.destroy() }
    let (a0, a1) = ConnTrack.keys(zone: 1, proto: 6, vmIP: 0x0a00_0001, vmPort: 40000, remoteIP: 0x0a00_0002, remotePort: 22)
    let (b0, b1) = ConnTrack.keys(zone: 2, proto: 6, vmIP: 0x0a00_0001, vmPort: 40000, remoteIP: 0x0a00_0002, remotePort: 22)
    #expect(ct.find(a0, a1) == -1)
    let slot = ct.insert(a0, a1, initial: 5)
    #expect(slot >= 0 && ct.find(a0, a1) == slot && ct.find(b0, b1) == -1)
    #expect(ct.updateState(slot, from: 5, to: 6) && !ct.updateState(slot, from: 5, to: 7) && ct.loadState(slot) == 6)
    let e = ct.entry(slot)!
    #expect(e.zone == 1 && e.vmPort == 40000 && e.remotePort == 22 && e.remoteIP == 0x0a00_0002)
    #expect(ct.remove(e, as: .expired) && ct.find(a0, a1) == -1 && ct.stat(.live) == 0 && ct.stat(.expired) == 1)
  }

  @Test func aFullBucketRefusesNewConnectionsOnly() {
    let ct = ConnTrack(capacity: ConnTrack.ways)    // one bucket
    defer { ct.destroy() }
    var keys: [(UInt64, UInt64)] = []
    for i in 0..<ConnTrack.ways {
      let k = ConnTrack.keys(zone: 1, proto: 17, vmIP: 1, vmPort: UInt16(i), remoteIP: 2, remotePort: 53)
      #expect(ct.insert(k.0, k.1, initial: 0) >= 0)
      keys.append(k)
    }
    let extra = ConnTrack.keys(zone: 1, proto: 17, vmIP: 1, vmPort: 999, remoteIP: 2, remotePort: 53)
    #expect(ct.insert(extra.0, extra.1, initial: 0) == -1 && ct.stat(.tableFull) == 1)
    for k in keys { #expect(ct.find(k.0, k.1) >= 0) }
  }

  /// Two buckets per key: at half load (32,768 random connections in 65,536 slots) hardly
  /// any is refused — with one 8-way bucket per key about 0.6 % would be — and every
  /// admitted one is found where it went.
  @Test func twoBucketsPerKeyKeepRefusalsRareAtHalfLoad() {
    let ct = ConnTrack(capacity: 1 << 16)
    defer { ct.destroy() }
    var rng = SplitMix64(seed: 14)
    var admitted: [(UInt64, UInt64, Int)] = []
    for _ in 0..<(1 << 15) {
      let r = rng.next()
      let k = ConnTrack.keys(zone: UInt16(r & 0x7fff), proto: 6, vmIP: UInt32(truncatingIfNeeded: r >> 16), vmPort: UInt16(truncatingIfNeeded: r >> 48),
                             remoteIP: UInt32(truncatingIfNeeded: rng.next()), remotePort: 443)
      let slot = ct.insert(k.0, k.1, initial: 0)
      if slot >= 0 { admitted.append((k.0, k.1, slot)) }
    }
    #expect(ct.stat(.tableFull) < 33, "refused \(ct.stat(.tableFull)) of 32768")
    #expect(admitted.allSatisfy { ct.find($0.0, $0.1) == $0.2 })
  }
}
