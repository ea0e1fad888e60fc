import Buffers
import Tables
import Wire

/// `acl-ingress`: the security groups and lists of the local port a frame is delivered to,
/// just before port-output — after a floating IP's DNAT and after routing, so rules see the
/// VM's fixed IP (as in Neutron). l2-forward and ip4-lookup send here the frames whose
/// destination interface is filtered (`L2Value.filtered`); ARP passes, other IPv4 goes
/// through `ACLFilter`, anything else is dropped (`acl-not-ipv4`).
///
/// Packets the router itself answers (echo replies from ip4-local, ICMP errors from
/// icmp-error) are responses to the VM's own packets and are not filtered.
///
/// Its loop mirrors acl-egress's on purpose: both inline `ACLFilter.check`, and a shared
/// helper around it measured +19 instructions per packet on W6.
@frozen
public struct ACLIngress {
  public static let id = NodeID.aclIngress
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
    ACLFilter.prefetch(v, keys: keys, egress: false, acl: acl, ct: ct)
    for i in 0..<v.count {
      let p = v.packets[i]
      let interface = Int(p.outPort)
      let etherType = p.data.loadBE16(at: 12)
      if etherType == EtherType.arp {
        v.next[i] = NodeID.portOutput.rawValue
        continue
      }
      guard etherType == EtherType.ipv4 else {
        v.drop(i, .aclNotIPv4, node: Self.id, counters: counters)
        aclCounters.packet(interface: interface, egress: false, denied: true)
        continue
      }
      let reason = ACLFilter.check(keys[i], p.data, length: Int(p.length), l3: 14, egress: false, interface: interface,
                                   acl: acl, ct: ct, now: now, counters: aclCounters)
      aclCounters.packet(interface: interface, egress: false, denied: reason != nil)
      if let reason {
        v.drop(i, reason, node: Self.id, counters: counters)
      } else {
        v.next[i] = NodeID.portOutput.rawValue
      }
    }
  }
}

extension ACLIngress: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = DropReason.ipv4Errors + DropReason.l4Errors
    + [.aclIngressDeny, .ctInvalid, .ctTableFull, .ctFragment, .aclNotIPv4]
}
