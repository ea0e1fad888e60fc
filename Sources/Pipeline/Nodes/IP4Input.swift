import Buffers
import Tables
import Wire

/// `ip4-input`: the entry of a distributed router. l2-forward sends here frames a local VM
/// addressed to a router interface's gateway MAC (`context` = that router interface).
/// Validates the IPv4 header (RFC 1812 §5.2.2: version, lengths, checksum) and passes the
/// packet to ip4-lookup, whose FIB has a receive entry for each of the router's own
/// addresses (ip4-local) and which checks the TTL of everything it forwards.
///
/// Drops: `ip4-unsupported-ethertype`, `ip4-*` header errors.
/// Next nodes: ip4-lookup, error-drop.
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
        v.next[i] = NodeID.ip4Lookup.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension IP4Input: GraphNode {
  public static let next: [NodeID] = [.ip4Lookup]
  public static let drops: [DropReason] = DropReason.ipv4Errors + [.ip4UnsupportedEtherType]
}
