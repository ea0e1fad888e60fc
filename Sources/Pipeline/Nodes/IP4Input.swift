import Buffers
import Tables
import Wire

/// `ip4-input`: the entry of a distributed router. l2-forward sends here frames a local VM
/// addressed to a router interface's gateway MAC (`context` = that router interface).
/// Validates the IPv4 header (RFC 1812 §5.2.2: version, lengths, checksum), hands packets
/// for the router's own addresses to ip4-local, and packets whose TTL would reach 0 to
/// icmp-error (time exceeded, RFC 1812 §5.3.1). The rest go to ip4-lookup.
///
/// Drops: `ip4-unsupported-ethertype`, `ip4-*` header errors, `ip4-ttl-expired` (an ICMP error is sent).
/// Next nodes: ip4-lookup, ip4-local, icmp-error, error-drop.
@frozen
public struct IP4Input {
  public static let id = NodeID.ip4Input
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        guard p.data.loadBE16(at: 12) == EtherType.ipv4 else { throw .ip4UnsupportedEtherType }
        let ip = try IPv4Header(validating: p.data + EthernetHeader.minimumLength, length: Int(p.length) &- EthernetHeader.minimumLength)
        guard ip.checksumIsValid else { throw .ipBadChecksum }
        let vrf = routing.interfaces[Int(p.context)].vrf
        if routing.local.lookup(RoutingTables.localKey(vrf: vrf, ip: ip.destination.value)) != nil {
          v.next[i] = NodeID.ip4Local.rawValue
        } else if ip.ttl <= 1 {
          counters.drop(Self.id, .ip4TTLExpired)
          v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.timeExceeded, code: 0))
        } else {
          v.next[i] = NodeID.ip4Lookup.rawValue
        }
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension IP4Input: GraphNode {
  public static let next: [NodeID] = [.ip4Lookup, .ip4Local, .icmpError]
  public static let drops: [DropReason] = DropReason.ipv4Errors + [.ip4UnsupportedEtherType, .ip4TTLExpired]
}
