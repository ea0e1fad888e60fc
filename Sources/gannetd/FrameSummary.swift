import Wire

/// One line that says what a frame is, as tcpdump would (Ethernet, ARP, IPv4, TCP, UDP,
/// ICMP, VXLAN with its inner frame). For trace records and dry-run outputs; reads only
/// the bytes it is given (a trace keeps a frame's first 128), and says "truncated" where
/// they end before a header does.
enum FrameSummary {
  static func describe(_ b: [UInt8], wireLength: Int? = nil) -> String {
    var out = ethernet(b, 0)
    if let n = wireLength, n != b.count { out += " (\(n) bytes)" } else { out += " (\(b.count) bytes)" }
    return out
  }

  private static func be16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) << 8 | Int(b[o + 1]) }
  private static func ip(_ b: [UInt8], _ o: Int) -> String { "\(b[o]).\(b[o + 1]).\(b[o + 2]).\(b[o + 3])" }
  private static func mac(_ b: [UInt8], _ o: Int) -> String {
    b[o..<o + 6].map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
  }

  private static func ethernet(_ b: [UInt8], _ o: Int) -> String {
    guard b.count >= o + 14 else { return "truncated Ethernet" }
    let head = "\(mac(b, o + 6)) > \(mac(b, o))"
    let type = be16(b, o + 12)
    switch type {
    case 0x0800: return head + ", " + ipv4(b, o + 14)
    case 0x0806: return head + ", " + arp(b, o + 14)
    case 0x8100: return head + ", 802.1Q vlan \(b.count >= o + 16 ? be16(b, o + 14) & 0xfff : 0)"
    case 0x86dd: return head + ", IPv6"
    default: return head + ", ethertype 0x" + String(type, radix: 16)
    }
  }

  private static func arp(_ b: [UInt8], _ o: Int) -> String {
    guard b.count >= o + 28 else { return "ARP, truncated" }
    switch be16(b, o + 6) {
    case 1: return "ARP, who-has \(ip(b, o + 24)) tell \(ip(b, o + 14))"
    case 2: return "ARP, \(ip(b, o + 14)) is-at \(mac(b, o + 8))"
    default: return "ARP, op \(be16(b, o + 6))"
    }
  }

  private static func ipv4(_ b: [UInt8], _ o: Int) -> String {
    guard b.count >= o + 20, b[o] >> 4 == 4 else { return "IPv4, truncated or bad version" }
    let ihl = Int(b[o] & 0x0f) * 4, proto = b[o + 9], ttl = b[o + 8]
    let head = "\(ip(b, o + 12)) > \(ip(b, o + 16)) ttl \(ttl)"
    let l4 = o + ihl
    if be16(b, o + 6) & 0x1fff != 0 { return head + ", fragment" }
    switch proto {
    case 6:
      guard b.count >= l4 + 14 else { return head + ", TCP truncated" }
      let f = b[l4 + 13]
      let flags = [(0x02, "S"), (0x10, "."), (0x01, "F"), (0x04, "R"), (0x08, "P")].filter { Int(f) & $0.0 != 0 }.map(\.1).joined()
      return head + ", TCP \(be16(b, l4)) > \(be16(b, l4 + 2)) [\(flags)]"
    case 17:
      guard b.count >= l4 + 8 else { return head + ", UDP truncated" }
      let sport = be16(b, l4), dport = be16(b, l4 + 2)
      if dport == 4789 && b.count >= l4 + 16 {
        let vni = Int(b[l4 + 12]) << 16 | Int(b[l4 + 13]) << 8 | Int(b[l4 + 14])
        return head + ", VXLAN vni \(vni) | " + ethernet(b, l4 + 16)
      }
      return head + ", UDP \(sport) > \(dport)"
    case 1:
      guard b.count >= l4 + 8 else { return head + ", ICMP truncated" }
      let type = b[l4], code = b[l4 + 1]
      switch type {
      case 8: return head + ", ICMP echo request id \(be16(b, l4 + 4)) seq \(be16(b, l4 + 6))"
      case 0: return head + ", ICMP echo reply id \(be16(b, l4 + 4)) seq \(be16(b, l4 + 6))"
      case 3: return head + ", ICMP unreachable code \(code)"
      case 11: return head + ", ICMP time exceeded"
      default: return head + ", ICMP type \(type) code \(code)"
      }
    default: return head + ", protocol \(proto)"
    }
  }
}
