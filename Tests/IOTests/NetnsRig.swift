import Foundation
import TestSupport
import IO

/// Two network namespaces joined by a veth pair, with names unique to this test so that
/// tests can run in parallel. `destroy` (called from `defer`) removes both namespaces,
/// which removes the veth pair with them, even when the test failed.
struct VethPair {
  let nsA: String, nsB: String, ifA: String, ifB: String

  init() throws {
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    nsA = "gnA\(tag)"; nsB = "gnB\(tag)"; ifA = "gva\(tag)"; ifB = "gvb\(tag)"
    do {
      try sh(["ip", "netns", "add", nsA])
      try sh(["ip", "netns", "add", nsB])
      try sh(["ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB])
      for (ns, i) in [(nsA, ifA), (nsB, ifB)] {
        // No IPv6: keeps router solicitations and MLD reports off the link.
        try sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        try sh(["ip", "-n", ns, "link", "set", i, "up"])
      }
    } catch {
      destroy()
      throw error
    }
  }

  func destroy() {
    _ = try? sh(["ip", "netns", "del", nsA], check: false)
    _ = try? sh(["ip", "netns", "del", nsB], check: false)
  }
}

/// Writes frames as a classic pcap (LINKTYPE_ETHERNET).
func writePcap(_ frames: [[UInt8]], to path: String) throws {
  var d = Data()
  func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
  func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
  le32(0xa1b2_c3d4); le16(2); le16(4); le32(0); le32(0); le32(65535); le32(1)
  for f in frames { le32(0); le32(0); le32(UInt32(f.count)); le32(UInt32(f.count)); d.append(contentsOf: f) }
  try d.write(to: URL(fileURLWithPath: path))
}

/// Test frames of EtherType 0x88b5 (local experimental), 60 to 1514 bytes, every fourth
/// one behind an 802.1Q tag, with seeded random payloads.
func testFrames(count: Int, seed: UInt64) -> [[UInt8]] {
  var state = seed
  func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
  return (0..<count).map { i in
    let len = 60 + Int(next() % 1455)
    var f: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, UInt8(i & 0xff)]
    if i % 4 == 0 { f += [0x81, 0x00, 0x20, UInt8(i & 0xff)] }   // PCP 1, VID i
    f += [0x88, 0xb5]
    while f.count < len { f.append(UInt8(truncatingIfNeeded: next())) }
    return f
  }
}
