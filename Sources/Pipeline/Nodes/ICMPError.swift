import Buffers
import CDPDKShim
import Wire

/// `icmp-error`: turns a packet the router could not forward into the ICMP error about it
/// (RFC 792, RFC 1812 §4.3.2), in place, and sends it back out of the port it came in on.
///
/// `context` carries the message (`parameters`): type, code and, for "fragmentation needed",
/// the next-hop MTU (RFC 1191). The error is built in the same buffer 28 bytes earlier:
/// Ethernet (back to the sender's MAC, from the MAC it sent to), IPv4 (TTL 64), ICMP, then
/// the original datagram as it arrived, truncated so the error stays within 576 bytes (RFC
/// 1812 §4.3.2.3). It comes from an address the sender can use: from a VM, the gateway IP
/// of the network it came from; from the external network (a packet to a floating IP or a
/// SNAT address, checked before translation so the quote is what the sender sent), the
/// router's external IP. No error is sent about an ICMP error, a non-first fragment, or a
/// packet to or from a multicast/broadcast address (§4.3.2.7), and at most
/// `ratePerSecond` per worker (token bucket, §4.3.2.8).
///
/// Drops: `icmp-error-suppressed`, `icmp-error-no-source`, `icmp-error-rate-limited`,
/// `icmp-error-no-headroom`.
/// Next nodes: port-output, error-drop.
@frozen
public struct ICMPError {
  public static let id = NodeID.icmpError
  public static let ratePerSecond: UInt64 = 1000
  public static let burst: UInt64 = 100
  /// Token bucket: tokens left and the TSC of the last refill.
  @usableFromInline var tokens: UInt64 = ICMPError.burst
  @usableFromInline var lastRefill: UInt64 = 0
  @usableFromInline let ticksPerToken: UInt64

  public init(tscHz: UInt64 = 2_000_000_000) { ticksPerToken = max(tscHz / Self.ratePerSecond, 1) }

  @inlinable @inline(__always)
  public static func parameters(type: UInt8, code: UInt8, mtu: UInt16 = 0) -> UInt32 {
    UInt32(type) << 24 | UInt32(code) << 16 | UInt32(mtu)
  }

  @inlinable
  public mutating func process(_ v: inout PacketVector, env: GraphEnvironment, counters: NodeCounters) {
    let routing = env.routing
    for i in 0..<v.count {
      let p = v.packets[i]
      let original = p.data + EthernetHeader.minimumLength
      let ip = IPv4Header(unchecked: original)
      let domain = env.interfaces[Int(p.inPort)].domain
      let ingress = routing.domainInterface[Int(domain)]
      let fromUplink = Int(p.inPort) == env.external.uplinkPort
      // An ICMP message other than echo request/reply is (or may be) an error itself.
      let aboutICMPError = ip.proto == IPProtocol.icmp && ip.payloadLength >= 1
        && ip.payload.loadU8(at: 0) != ICMPv4Header.MessageType.echoRequest
        && ip.payload.loadU8(at: 0) != ICMPv4Header.MessageType.echoReply
      let src = ip.source.value, dst = ip.destination.value
      let multicastOrBroadcast = src >> 28 == 0xe || dst >> 28 == 0xe || dst == .max || src == .max || src == 0
      guard ip.fragmentOffset == 0, !aboutICMPError, !multicastOrBroadcast else {
        v.drop(i, .icmpErrorSuppressed, node: Self.id, counters: counters)
        continue
      }
      let source: UInt32, sourceMAC: MACAddress
      if fromUplink {
        source = env.external.errorSource(for: dst)
        sourceMAC = p.data.loadMAC(at: 0)
      } else if ingress >= 0 {
        source = routing.interfaces[Int(ingress)].address
        sourceMAC = routing.interfaces[Int(ingress)].mac
      } else {
        source = 0
        sourceMAC = .zero
      }
      guard source != 0 else {
        v.drop(i, .icmpErrorNoSource, node: Self.id, counters: counters)
        continue
      }
      guard take() else {
        v.drop(i, .icmpErrorRateLimited, node: Self.id, counters: counters)
        continue
      }
      guard p.headroom >= 28 else {
        v.drop(i, .icmpErrorNoHeadroom, node: Self.id, counters: counters)
        continue
      }
      let quoted = min(Int(ip.totalLength), 576 &- 28)
      let senderMAC = p.data.loadMAC(at: 6)
      let f = p.data - 28
      f.storeMAC(senderMAC, at: 0)
      f.storeMAC(sourceMAC, at: 6)
      f.storeBE16(EtherType.ipv4, at: 12)
      let out = IPv4Header(unchecked: f + 14)
      f.storeU8(0x45, at: 14)
      f.storeU8(0, at: 15)
      out.totalLength = UInt16(truncatingIfNeeded: 28 &+ quoted)
      out.identification = 0
      f.storeBE16(0, at: 20)
      out.ttl = 64
      out.proto = IPProtocol.icmp
      out.source = IPv4Address(source)
      out.destination = IPv4Address(src)
      out.fillChecksum()
      let icmp = ICMPv4Header(unchecked: f + 34)
      let parameters = p.context
      icmp.type = UInt8(truncatingIfNeeded: parameters >> 24)
      icmp.code = UInt8(truncatingIfNeeded: parameters >> 16)
      f.storeBE32(UInt32(parameters & 0xffff), at: 38)     // unused, or next-hop MTU in the low 16 bits
      icmp.fillChecksum(length: 8 &+ quoted)
      v.packets[i].data = f
      v.packets[i].length = UInt32(truncatingIfNeeded: 42 &+ quoted)
      v.packets[i].outPort = p.inPort
      v.next[i] = NodeID.portOutput.rawValue
    }
  }

  @inlinable @inline(__always)
  mutating func take() -> Bool {
    let now = cdpdk_rdtsc()
    if now &- lastRefill >= ticksPerToken {
      tokens = min(Self.burst, tokens &+ (now &- lastRefill) / ticksPerToken)
      lastRefill = now
    }
    guard tokens > 0 else { return false }
    tokens &-= 1
    return true
  }
}

extension PacketVector {
  /// Hands packet `i` to icmp-error, which turns it into the ICMP error `parameters`
  /// (`ICMPError.parameters`). The deciding node counts its own reason first.
  @inlinable @inline(__always)
  public mutating func sendICMPError(_ i: Int, _ parameters: UInt32) {
    packets[i].context = parameters
    next[i] = NodeID.icmpError.rawValue
  }

  /// Packet `i` is longer than `mtu`, the MTU of the hop that refuses it: with DF, counted
  /// as `ip4-fragmentation-needed` under `node` and answered with "fragmentation needed"
  /// carrying `mtu` (RFC 1191); without DF, dropped as `ip4-fragmentation-unsupported`
  /// (Gannet does not fragment). One rule for every node that meets a smaller MTU.
  @inlinable @inline(__always)
  public mutating func refuseTooBig(_ i: Int, dontFragment: Bool, mtu: Int, node: NodeID, counters: NodeCounters) {
    guard dontFragment else {
      drop(i, .ip4FragmentationUnsupported, node: node, counters: counters)
      return
    }
    counters.drop(node, .ip4FragmentationNeeded)
    sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.destinationUnreachable, code: 4,
                                          mtu: UInt16(truncatingIfNeeded: mtu)))
  }
}

extension ICMPError: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = [.icmpErrorSuppressed, .icmpErrorNoSource, .icmpErrorRateLimited, .icmpErrorNoHeadroom]
}
