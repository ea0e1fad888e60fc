import Buffers
import Tables
import Wire

/// `ip4-external`: a packet a local VM sent to the internet (ip4-lookup matched the default
/// route of a router with an external gateway; `context` = ingress router interface). The
/// source node is the router hop: it decrements the TTL (ip4-input made sure it stays ≥ 1)
/// and picks the path (DOMAIN.md paths 4 and 6):
///
/// - the source has a floating IP hosted here → fip-snat (`context` = floating IP index);
/// - the router's SNAT runs on this node → snat-in2out (`context` unchanged);
/// - otherwise the packet goes to the router's SNAT port on the SNAT node, over the overlay
///   on the VM's own network (Neutron DVR): destination MAC = the router's gateway port
///   MAC, source MAC = this node's DVR host MAC, then vxlan-encap to the SNAT node's tunnel.
///
/// The packet must fit the path it takes: the external network's MTU when it leaves here,
/// the VM's network's MTU when it crosses the overlay to the SNAT node. A larger one with DF
/// gets "fragmentation needed" with that MTU from the gateway IP (RFC 1191), so path-MTU
/// discovery and TCP work through SNAT too; without DF it is dropped (Gannet does not
/// fragment).
///
/// Drops: `snat-no-gateway` (no external gateway, or no tunnel to its SNAT node),
/// `ip4-fragmentation-needed` (ICMP sent), `ip4-fragmentation-unsupported`.
/// Next nodes: fip-snat, snat-in2out, vxlan-encap, icmp-error, error-drop.
@frozen
public struct IP4External {
  public static let id = NodeID.ip4External
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, external: ExternalTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let ingress = routing.interfaces[Int(p.context)]
      let vrf = ingress.vrf
      guard Int(vrf) < external.gatewayCount else {
        v.drop(i, .snatNoGateway, node: Self.id, counters: counters)
        continue
      }
      let gateway = external.gateways[Int(vrf)]
      let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
      let fip = external.floatingIPCount > 0 ? external.bySource.lookup(ExternalTables.sourceKey(vrf: vrf, ip: ip.source.value)) : nil
      let viaTunnel = fip == nil && !gateway.snatHere
      let mtu = viaTunnel ? ingress.mtu : external.uplinkMTU
      if Int(ip.totalLength) > mtu {
        v.refuseTooBig(i, dontFragment: ip.dontFragment, mtu: mtu, node: Self.id, counters: counters)
        continue
      }
      if let fip {
        ip.decrementTTL()
        v.packets[i].context = UInt32(truncatingIfNeeded: fip)
        v.next[i] = NodeID.fipSNAT.rawValue
      } else if gateway.snatHere {
        ip.decrementTTL()
        v.next[i] = NodeID.snatIn2Out.rawValue
      } else if gateway.snatTunnel >= 0 && gateway.externalIP != 0 {
        ip.decrementTTL()
        p.data.storeMAC(gateway.mac, at: 0)
        p.data.storeMAC(routing.localDVRMAC, at: 6)
        v.packets[i].context = UInt32(ingress.domain)
        v.packets[i].outPort = UInt16(truncatingIfNeeded: gateway.snatTunnel)
        v.next[i] = NodeID.vxlanEncap.rawValue
      } else {
        v.drop(i, .snatNoGateway, node: Self.id, counters: counters)
      }
    }
  }
}

extension IP4External: GraphNode {
  public static let next: [NodeID] = [.fipSNAT, .snatIn2Out, .icmpError, .vxlanEncap]
  public static let drops: [DropReason] = DropReason.tooBig + [.snatNoGateway]
}
