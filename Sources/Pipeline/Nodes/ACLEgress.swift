import Buffers
import Tables
import Wire

/// `acl-egress`: the security groups and lists of the port a frame comes from, right after
/// l2-input (before switching, routing or NAT). l2-input sends here every non-ARP frame of
/// a filtered interface; IPv4 goes through `ACLFilter`, anything else is dropped
/// (`acl-not-ipv4`: rules are IPv4). Admitted frames continue to l2-forward.
@frozen
public struct ACLEgress {
  public static let id = NodeID.aclEgress
  /// Per packet of the vector being processed: its connection key (`ACLFilter.prefetch`).
  /// Allocated once; the worker's own.
  public let keys: UnsafeMutablePointer<ACLFilter.FastKey>
  public init() {
    keys = .allocate(capacity: PacketVector.capacity)
    keys.initialize(repeating: .none, count: PacketVector.capacity)
  }
  public func destroy() { keys.deallocate() }

  @inlinable
  public func process(_ v: inout PacketVector, env: GraphEnvironment, counters: NodeCounters) {
    // Hoisted: read from `env` inside the loop, these structs were copied per packet.
    let acl = env.acl, ct = env.conntrack, aclCounters = env.aclCounters, now = env.now
    ACLFilter.prefetch(v, keys: keys, egress: true, acl: acl, ct: ct)
    for i in 0..<v.count {
      let p = v.packets[i]
      let interface = Int(p.inPort)
      guard p.data.loadBE16(at: 12) == EtherType.ipv4 else {
        v.drop(i, .aclNotIPv4, node: Self.id, counters: counters)
        aclCounters.packet(interface: interface, egress: true, denied: true)
        continue
      }
      let reason = ACLFilter.check(keys[i], p.data, length: Int(p.length), l3: 14, egress: true, interface: interface,
                                   acl: acl, ct: ct, now: now, counters: aclCounters)
      aclCounters.packet(interface: interface, egress: true, denied: reason != nil)
      if let reason {
        v.drop(i, reason, node: Self.id, counters: counters)
      } else {
        v.next[i] = NodeID.l2Forward.rawValue
      }
    }
  }
}

extension ACLEgress: GraphNode {
  public static let next: [NodeID] = [.l2Forward]
  public static let drops: [DropReason] = DropReason.ipv4Errors + DropReason.l4Errors
    + [.aclEgressDeny, .ctInvalid, .ctTableFull, .ctFragment, .aclNotIPv4]
}
