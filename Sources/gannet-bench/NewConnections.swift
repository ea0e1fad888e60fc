import IO
import Wire

/// `--new-connections`: W6's frames rewritten so that every packet opens a new connection —
/// frame k is W1's frame k mod n with source address 10.1.0.(1 + k >> 16) and source port
/// k & 0xffff (still inside the rule that admits UDP from 10.1.0.0/24; the destination,
/// and so the switching, unchanged). Each packet then starts a connection on egress of the
/// sending port and another on ingress of the receiving one. The IPv4 header checksum is
/// recomputed; the UDP checksum is set to 0 (none, RFC 768).
enum NewConnections {
  static func frames(from store: FrameStore, count: Int) throws -> FrameStore {
    guard count <= 255 << 16 else { throw BenchError("--new-connections: at most \(255 << 16) packets") }
    var frames: [[UInt8]] = []
    frames.reserveCapacity(count)
    for k in 0..<count {
      var f = store.frameBytes(k % store.count)
      guard f.count >= 42, f[12] == 0x08, f[13] == 0x00, f[14] == 0x45, f[23] == IPProtocol.udp else {
        throw BenchError("--new-connections: frame \(k % store.count) is not an Ethernet/IPv4/UDP frame without options")
      }
      f[26] = 10; f[27] = 1; f[28] = 0; f[29] = UInt8(1 + k >> 16)
      f[34] = UInt8(truncatingIfNeeded: k >> 8); f[35] = UInt8(truncatingIfNeeded: k)
      f[40] = 0; f[41] = 0
      f[24] = 0; f[25] = 0
      let sum = f.withUnsafeBytes { Checksum.compute($0.baseAddress! + 14, count: 20) }
      f[24] = UInt8(sum >> 8); f[25] = UInt8(truncatingIfNeeded: sum)
      frames.append(f)
    }
    return FrameStore(frames: frames)
  }
}
