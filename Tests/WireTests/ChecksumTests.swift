import TestSupport
import Testing
@testable import Wire

/// A reference RFC 1071 implementation, written as plainly as possible, to check the fast one.
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
  var sum: UInt32 = 0
  var i = 0
  while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
  if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
  while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
  return ~UInt16(sum)
}

@Suite struct ChecksumTests {
  @Test func rfc1071Example() {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (before complement).
    let b: [UInt8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]
    b.withUnsafeBytes { #expect(Checksum.compute($0.baseAddress!, count: 8) == ~UInt16(0xddf2)) }
  }

  @Test func fastMatchesReferenceForAllLengths() {
    var rng = SplitMix64(seed: 7)
    for len in 0..<200 {
      let b = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let fast = (b + [0]).withUnsafeBytes { Checksum.compute($0.baseAddress!, count: len) }
      #expect(fast == referenceChecksum(b), "length \(len)")
    }
  }

  /// Differential (BESS checksum_test): TTL decrement done incrementally must equal a full recomputation.
  @Test func decrementTTLMatchesRecompute() {
    var rng = SplitMix64(seed: 42)
    var bytes = [UInt8](repeating: 0, count: 20)
    for _ in 0..<20_000 {
      for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
      bytes[0] = 0x45; bytes[2] = 0; bytes[3] = 20
      bytes[8] = UInt8.random(in: 1...255, using: &rng)
      withFrame(bytes) { p, _ in
        let ip = IPv4Header(unchecked: p)
        ip.fillChecksum()
        ip.decrementTTL()
        let incremental = ip.checksum
        #expect(ip.checksumIsValid)
        ip.fillChecksum()
        #expect(incremental == ip.checksum)
      }
    }
  }

  /// Address rewrite (NAT): IPv4 header and the UDP/TCP pseudo-header, incremental vs full.
  @Test func addressAndPortRewriteMatchesRecompute() {
    var rng = SplitMix64(seed: 4242)
    for iteration in 0..<5_000 {
      let isTCP = iteration % 2 == 0
      let payload = Int.random(in: 0...40, using: &rng)
      let l4len = (isTCP ? 20 : 8) + payload
      var b = [UInt8](repeating: 0, count: 20 + l4len)
      for i in b.indices { b[i] = UInt8.random(in: 0...255, using: &rng) }
      b[0] = 0x45; b[2] = UInt8((20 + l4len) >> 8); b[3] = UInt8((20 + l4len) & 0xff)
      b[9] = isTCP ? IPProtocol.tcp : IPProtocol.udp
      if isTCP { b[32] = 0x50 } else { b[24] = UInt8(l4len >> 8); b[25] = UInt8(l4len & 0xff) }
      let newSource = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng))
      let newDest = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng))
      let newPort = UInt16.random(in: 0...UInt16.max, using: &rng)
      withFrame(b) { p, n in
        let ip = try! IPv4Header(validating: p, length: n)
        ip.fillChecksum()
        if isTCP {
          let tcp = try! TCPHeader(validating: ip.payload, length: ip.payloadLength)
          tcp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: l4len)
          let oldS = ip.rewriteSource(newSource)
          tcp.adjustChecksum(oldAddress: oldS, newAddress: newSource)
          let oldD = ip.rewriteDestination(newDest)
          tcp.adjustChecksum(oldAddress: oldD, newAddress: newDest)
          tcp.rewriteSourcePort(newPort)
          tcp.rewriteDestinationPort(newPort &+ 1)
          #expect(tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: l4len))
          let incremental = tcp.checksum
          tcp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: l4len)
          #expect(incremental == tcp.checksum)
        } else {
          let udp = try! UDPHeader(validating: ip.payload, length: ip.payloadLength)
          udp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
          let oldS = ip.rewriteSource(newSource)
          udp.adjustChecksum(oldAddress: oldS, newAddress: newSource)
          let oldD = ip.rewriteDestination(newDest)
          udp.adjustChecksum(oldAddress: oldD, newAddress: newDest)
          udp.rewriteSourcePort(newPort)
          #expect(udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
          let incremental = udp.checksum
          udp.fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
          // RFC 768: a computed 0 is sent as 0xffff, so both forms of zero are equivalent.
          #expect(incremental == udp.checksum || (incremental == 0xffff && udp.checksum == 0xffff))
        }
        let incrementalIP = ip.checksum
        #expect(ip.checksumIsValid)
        ip.fillChecksum()
        #expect(incrementalIP == ip.checksum)
      }
    }
  }

  /// A TCP frame as Linux hands it over with CHECKSUM_PARTIAL: the checksum field holds
  /// the folded pseudo-header sum only. Completion must produce the real checksum.
  @Test func checksumOffloadCompletion() throws {
    var f = [UInt8](repeating: 0, count: 14 + 20 + 20 + 10)
    f[12] = 0x08; f[13] = 0x00
    f[14] = 0x45; f[16] = 0; f[17] = 50; f[22] = 64; f[23] = IPProtocol.tcp
    f[26...29] = [10, 0, 0, 1]; f[30...33] = [10, 0, 0, 2]
    f[34] = 0x13; f[35] = 0x89; f[36] = 0xc3; f[37] = 0x50; f[46] = 0x50; f[47] = 0x18
    for i in 54..<64 { f[i] = UInt8(i) }
    try withFrame(f) { p, n in
      let ip = try IPv4Header(validating: p + 14, length: n - 14)
      ip.fillChecksum()
      let tcp = try TCPHeader(validating: ip.payload, length: ip.payloadLength)
      tcp.checksum = ~Checksum.finish(ip.pseudoHeaderSum)      // what the kernel leaves
      #expect(!tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: 30))
      #expect(ChecksumOffload.completeIPv4(frame: p, length: n))
      #expect(tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: 30))
    }
    // Not IPv4 TCP/UDP: untouched.
    try withFrame([UInt8](repeating: 0, count: 12) + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)) { p, n in
      #expect(!ChecksumOffload.completeIPv4(frame: p, length: n))
    }
  }

  @Test func udpZeroChecksumStaysZero() {
    withFrame([0, 1, 0, 2, 0, 8, 0, 0]) { p, n in
      let u = try! UDPHeader(validating: p, length: n)
      u.adjustChecksum(oldAddress: IPv4Address(1, 2, 3, 4), newAddress: IPv4Address(5, 6, 7, 8))
      u.rewriteSourcePort(999)
      #expect(u.checksum == 0)
    }
  }
}

@Suite struct IPv4ChecksumFastPathTests {
  /// The 20-byte fast path (native-order words) agrees with the RFC 1071 reference on
  /// random headers, valid ones, and headers with one corrupted byte.
  @Test func agreesWithTheReference() {
    var state: UInt64 = 0x1234_5678_9abc_def1
    func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    var h = [UInt8](repeating: 0, count: 20)
    for round in 0..<20_000 {
      for i in 0..<20 { h[i] = UInt8(truncatingIfNeeded: next()) }
      h[0] = 0x45
      h.withUnsafeMutableBytes { p in
        let ip = IPv4Header(unchecked: p.baseAddress!)
        if round % 2 == 0 { ip.fillChecksum() }
        if round % 4 == 0 { p[Int(next() % 20) | 1] ^= UInt8(truncatingIfNeeded: next() | 1) }
        #expect(ip.checksumIsValid == (Checksum.compute(p.baseAddress!, count: 20) == 0))
        if round % 4 == 2 { #expect(ip.checksumIsValid) }
      }
    }
  }
}
