import TestSupport
import Testing
@testable import Wire

/// Super-frames built byte by byte, segmented by `GSOFrame`, and every segment checked
/// against plain re-derivations: lengths, IPv4 identification and header checksum, TCP
/// sequence numbers and flags, L4 checksums (with `referenceChecksum`), the outer VXLAN
/// headers, and the payloads put back together.
@Suite struct SegmentationTests {
  static let mss = 1448

  struct Built {
    var bytes: [UInt8]
    var l3: Int, l4: Int, headers: Int
    var outerL3 = -1, outerL4 = -1
  }

  static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
  static func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xffff) }

  /// Ethernet + IPv4 or IPv6 + TCP (flags FIN|PSH|ACK|CWR, seq 1000) or UDP + `payload`.
  static func frame(v6: Bool, tcp: Bool, payload: [UInt8]) -> Built {
    let l4Header = tcp ? 20 : 8
    let l4 = be16(40000) + be16(5001) + (tcp ? be32(1000) + be32(7) + [0x50, 0x80 | 0x10 | 0x08 | 0x01] + be16(512) + be16(0x1234) + be16(0)
                                             : be16(l4Header + payload.count) + be16(0x1234))
    let eth: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1] + be16(v6 ? 0x86dd : 0x0800)
    let ip: [UInt8]
    if v6 {
      ip = [0x60, 0, 0, 0] + be16(l4Header + payload.count) + [tcp ? 6 : 17, 64] + (0..<16).map { UInt8($0) } + (0..<16).map { UInt8(100 + $0) }
    } else {
      ip = [0x45, 0] + be16(20 + l4Header + payload.count) + be16(0x1234) + [0x40, 0, 64, tcp ? 6 : 17, 0, 0] + [10, 0, 0, 1, 10, 0, 0, 2]
    }
    return Built(bytes: eth + ip + l4 + payload, l3: 14, l4: 14 + ip.count, headers: 14 + ip.count + l4Header)
  }

  /// `inner` inside Ethernet + IPv4 + UDP (to 4789, checksum `udpChecksum` or none) + VXLAN.
  static func vxlan(_ inner: Built, udpChecksum: Bool) -> Built {
    let udpLength = 8 + 8 + inner.bytes.count
    let outer: [UInt8] = [2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 1] + be16(0x0800)
      + [0x45, 0] + be16(20 + udpLength) + be16(0x0100) + [0, 0, 64, 17, 0, 0] + [10, 9, 0, 1, 10, 9, 0, 2]
      + be16(51000) + be16(4789) + be16(udpLength) + be16(udpChecksum ? 0xbeef : 0) + [8, 0, 0, 0, 0, 0, 100, 0]
    let o = outer.count
    return Built(bytes: outer + inner.bytes, l3: o + inner.l3, l4: o + inner.l4, headers: o + inner.headers, outerL3: 14, outerL4: 34)
  }

  static func segments(_ b: Built, type: UInt8, mss: Int = mss) throws -> [[UInt8]] {
    try b.bytes.withUnsafeBytes { raw throws(DropReason) -> [[UInt8]] in
      let g = try GSOFrame(validating: raw.baseAddress!, length: b.bytes.count, vnet: VirtioNetHeader(gsoType: type, gsoSize: UInt16(mss)))
      return (0..<g.count).map { k in
        var out = [UInt8](repeating: 0, count: g.segmentLength(k))
        let n = out.withUnsafeMutableBytes { g.write(segment: k, to: $0.baseAddress!) }
        #expect(n == out.count)
        return out
      }
    }
  }

  static func u16(_ s: [UInt8], _ o: Int) -> Int { Int(s[o]) << 8 | Int(s[o + 1]) }
  static func u32(_ s: [UInt8], _ o: Int) -> Int { u16(s, o) << 16 | u16(s, o + 2) }

  /// The L4 checksum of `s` verifies (RFC 1071: the sum over pseudo-header and segment is 0).
  static func l4Verifies(_ s: [UInt8], l3: Int, l4: Int, v6: Bool, proto: UInt8) -> Bool {
    let len = s.count - l4
    let addresses = v6 ? Array(s[(l3 + 8)..<(l3 + 40)]) : Array(s[(l3 + 12)..<(l3 + 20)])
    let pseudo = addresses + be32(len).suffix(v6 ? 4 : 2) + (v6 ? [0, 0, 0, proto] : [0, proto])
    return referenceChecksum(pseudo + Array(s[l4...])) == 0
  }

  func check(_ b: Built, v6: Bool, tcp: Bool, payload: [UInt8], segs: [[UInt8]]) {
    let mss = Self.mss
    #expect(segs.count == (payload.count + mss - 1) / mss)
    var joined: [UInt8] = []
    for (k, s) in segs.enumerated() {
      let chunk = min(mss, payload.count - k * mss)
      #expect(s.count == b.headers + chunk)
      #expect(Array(s[0..<b.l3]) == Array(b.bytes[0..<b.l3]) || b.outerL3 >= 0, "Ethernet header unchanged")
      if v6 {
        #expect(Self.u16(s, b.l3 + 4) == s.count - b.l3 - 40)
      } else {
        #expect(Self.u16(s, b.l3 + 2) == s.count - b.l3)
        #expect(Self.u16(s, b.l3 + 4) == 0x1234 + k, "identification advances per segment")
        #expect(referenceChecksum(Array(s[b.l3..<(b.l3 + 20)])) == 0, "IPv4 header checksum")
      }
      #expect(Self.l4Verifies(s, l3: b.l3, l4: b.l4, v6: v6, proto: tcp ? 6 : 17), "segment \(k) L4 checksum")
      if tcp {
        #expect(Self.u32(s, b.l4 + 4) == 1000 + k * mss, "sequence number")
        let flags = s[b.l4 + 13], last = k == segs.count - 1
        #expect(flags & 0x10 != 0, "ACK on every segment")
        #expect((flags & 0x01 != 0) == last && (flags & 0x08 != 0) == last, "FIN and PSH on the last only")
        #expect((flags & 0x80 != 0) == (k == 0), "CWR on the first only")
      } else {
        #expect(Self.u16(s, b.l4 + 4) == s.count - b.l4, "UDP length")
      }
      if b.outerL3 >= 0 {
        #expect(Self.u16(s, b.outerL3 + 2) == s.count - b.outerL3)
        #expect(Self.u16(s, b.outerL3 + 4) == 0x0100 + k)
        #expect(referenceChecksum(Array(s[b.outerL3..<(b.outerL3 + 20)])) == 0)
        #expect(Self.u16(s, b.outerL4 + 4) == s.count - b.outerL4, "outer UDP length")
        if Self.u16(b.bytes, b.outerL4 + 6) == 0 {
          #expect(Self.u16(s, b.outerL4 + 6) == 0, "no outer checksum stays none")
        } else {
          #expect(Self.l4Verifies(s, l3: b.outerL3, l4: b.outerL4, v6: false, proto: 17), "outer UDP checksum")
        }
      }
      joined += s[b.headers...]
    }
    #expect(joined == payload, "the payloads put back together")
  }

  @Test(arguments: [(false, true), (true, true), (false, false), (true, false)])
  func segmentsTCPAndUDPOverIPv4AndIPv6(v6: Bool, tcp: Bool) throws {
    var rng = SplitMix64(seed: 18)
    for size in [1, Self.mss - 1, Self.mss, Self.mss + 1, 5000, 64_000] {
      let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let b = Self.frame(v6: v6, tcp: tcp, payload: payload)
      let type = tcp ? (v6 ? VirtioNetHeader.gsoTCPv6 : VirtioNetHeader.gsoTCPv4) : VirtioNetHeader.gsoUDPL4
      check(b, v6: v6, tcp: tcp, payload: payload, segs: try Self.segments(b, type: type | (tcp ? VirtioNetHeader.gsoECN : 0)))
    }
  }

  @Test(arguments: [false, true])
  func segmentsTCPInsideVXLAN(udpChecksum: Bool) throws {
    var rng = SplitMix64(seed: 4789)
    let payload = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let b = Self.vxlan(Self.frame(v6: false, tcp: true, payload: payload), udpChecksum: udpChecksum)
    check(b, v6: false, tcp: true, payload: payload, segs: try Self.segments(b, type: VirtioNetHeader.gsoTCPv4))
  }

  @Test func refusesWhatItCannotSegmentByName() {
    let tcp4 = Self.frame(v6: false, tcp: true, payload: [UInt8](repeating: 1, count: 3000))
    let udp4 = Self.frame(v6: false, tcp: false, payload: [UInt8](repeating: 1, count: 3000))
    var cut = tcp4
    cut.bytes.removeLast(10)   // IPv4 total length beyond the frame
    var hopByHop = Self.frame(v6: true, tcp: true, payload: [UInt8](repeating: 1, count: 3000))
    hopByHop.bytes[14 + 6] = 0
    var arp = tcp4
    arp.bytes[12] = 0x08; arp.bytes[13] = 0x06
    let cases: [(String, Built, UInt8, Int, DropReason)] = [
      ("segment size 0", tcp4, VirtioNetHeader.gsoTCPv4, 0, .rxGSOMalformed),
      ("UFO", udp4, VirtioNetHeader.gsoUDP, Self.mss, .rxGSOUnsupported),
      ("UDP_L4 on a TCP segment", tcp4, VirtioNetHeader.gsoUDPL4, Self.mss, .rxGSOMalformed),
      ("TCP GSO of a UDP datagram that is no VXLAN", udp4, VirtioNetHeader.gsoTCPv4, Self.mss, .rxGSOUnsupported),
      ("cut short", cut, VirtioNetHeader.gsoTCPv4, Self.mss, .rxGSOMalformed),
      ("IPv6 extension header", hopByHop, VirtioNetHeader.gsoTCPv6, Self.mss, .rxGSOUnsupported),
      ("not IP", arp, VirtioNetHeader.gsoTCPv4, Self.mss, .rxGSOMalformed),
      ("unknown type", tcp4, 9, Self.mss, .rxGSOUnsupported),
    ]
    for (name, b, type, mss, reason) in cases {
      #expect(throws: reason, "\(name)") { _ = try Self.segments(b, type: type, mss: mss) }
    }
  }

  /// Hostile super-frames (a VM controls every byte and, through its kernel, the offload
  /// description): valid frames with random bytes overwritten, cut, or described with random
  /// types and sizes. Each is refused by name or segmented within its bounds: every segment
  /// fits `segmentLength`, and the payloads add up to the frame's.
  @Test func randomSuperFramesAreRefusedByNameOrSegmentedWithinBounds() throws {
    var rng = SplitMix64(seed: 0x6a5)
    var segmented = 0, refused = 0
    for round in 0..<3_000 {
      let kind = round % 5
      var b = kind == 4 ? Self.vxlan(Self.frame(v6: false, tcp: true, payload: [UInt8](repeating: 7, count: 3000)), udpChecksum: true)
        : Self.frame(v6: kind & 1 != 0, tcp: kind & 2 == 0, payload: [UInt8](repeating: 7, count: Int(rng.next(below: 5000)) + 1))
      for _ in 0..<Int(rng.next(below: 4)) {
        b.bytes[Int(rng.next(below: UInt64(min(b.bytes.count, 120))))] = UInt8(truncatingIfNeeded: rng.next())
      }
      if rng.next(below: 4) == 0 { b.bytes.removeLast(Int(rng.next(below: UInt64(b.bytes.count)))) }
      let types: [UInt8] = [1, 3, 4, 5, 0x81, UInt8(truncatingIfNeeded: rng.next())]
      let vnet = VirtioNetHeader(gsoType: types[Int(rng.next(below: UInt64(types.count)))], gsoSize: UInt16(truncatingIfNeeded: rng.next(below: 3000)))
      let outcome: Result<(Int, Int), DropReason> = b.bytes.withUnsafeBytes { raw in
        do throws(DropReason) {
          let g = try GSOFrame(validating: raw.baseAddress!, length: raw.count, vnet: vnet)
          var total = 0
          for k in 0..<g.count {
            var out = [UInt8](repeating: 0, count: g.segmentLength(k))
            let n = out.withUnsafeMutableBytes { g.write(segment: k, to: $0.baseAddress!) }
            #expect(n == out.count && n <= g.headerLength + g.segmentSize)
            total += n - g.headerLength
          }
          return .success((total, g.payloadLength))
        } catch {
          return .failure(error)
        }
      }
      switch outcome {
      case .success(let (total, payload)):
        #expect(total == payload)
        segmented += 1
      case .failure(let reason):
        #expect(reason == .rxGSOMalformed || reason == .rxGSOUnsupported, "refused as \(reason)")
        refused += 1
      }
    }
    #expect(segmented > 300 && refused > 300, "both outcomes exercised: \(segmented) segmented, \(refused) refused")
  }

  @Test func virtioNetHeaderRoundTripsLittleEndian() {
    let h = VirtioNetHeader(flags: 1, gsoType: 4 | 0x80, headerLength: 0x0102, gsoSize: 1448, csumStart: 54, csumOffset: 16)
    var bytes = [UInt8](repeating: 0, count: 10)
    bytes.withUnsafeMutableBytes { h.store(at: $0.baseAddress!) }
    #expect(bytes == [1, 0x84, 0x02, 0x01, 0xa8, 0x05, 54, 0, 16, 0])
    #expect(bytes.withUnsafeBytes { VirtioNetHeader(at: $0.baseAddress!) } == h)
    #expect(h.isGSO && !VirtioNetHeader(gsoType: 0x80).isGSO)
  }
}
