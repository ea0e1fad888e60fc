import Buffers
import Tables
import Wire

/// `fip-dnat`: a packet from the external network to a floating IP hosted here (DOMAIN.md
/// path 5; external-input found it, `context` = floating IP index). The destination becomes
/// the VM's fixed IP (1:1) with the IPv4 and TCP/UDP checksums patched; for an ICMP error
/// (time exceeded, port unreachable, …) about a packet the VM sent, the quote's source
/// address is translated back as well, with its checksums and the ICMP checksum (RFC 5508
/// §4.2). The packet then enters the router (ip4-lookup in the floating IP's VRF, which
/// decrements the TTL and delivers it to the VM).
///
/// Before translating, the router hop's checks, whose ICMP errors go back to the sender from
/// the router's external IP quoting the packet as it was sent (icmp-error): TTL ≤ 1 → time
/// exceeded (so traceroute shows the router); longer than the VM's network MTU with DF →
/// fragmentation needed with that MTU (RFC 1191); without DF it is dropped.
///
/// Drops: `nat-ttl-expired` (ICMP sent), `ip4-fragmentation-needed` (ICMP sent),
/// `ip4-fragmentation-unsupported`, `nat-truncated`.
/// Next nodes: ip4-lookup, icmp-error, error-drop.
@frozen
public struct FIPDNAT {
  public static let id = NodeID.fipDNAT
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, external: ExternalTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let fip = external.floatingIPs[Int(p.context)]
      do throws(DropReason) {
        let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
        guard ip.ttl > 1 else {
          counters.drop(Self.id, .natTTLExpired)
          v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.timeExceeded, code: 0))
          continue
        }
        if Int(ip.totalLength) > fip.mtu {
          v.refuseTooBig(i, dontFragment: ip.dontFragment, mtu: fip.mtu, node: Self.id, counters: counters)
          continue
        }
        let proto = ip.proto
        if ip.fragmentOffset != 0 || (proto != IPProtocol.tcp && proto != IPProtocol.udp && proto != IPProtocol.icmp) {
          NATRewrite.rewrite(ip, l4: nil, .destination, address: fip.inside, port: nil)
        } else {
          let l4 = try NATRewrite.l4(ip)
          if proto == IPProtocol.icmp && ICMPv4Header.MessageType.isError(l4.loadU8(at: 0)) {
            let q = try NATRewrite.quote(icmp: l4, length: ip.payloadLength)
            if q.source == fip.address { NATRewrite.rewriteQuote(q, icmp: l4, .source, address: fip.inside, port: nil) }
          }
          NATRewrite.rewrite(ip, l4: l4, .destination, address: fip.inside, port: nil)
        }
        v.packets[i].context = UInt32(fip.routerInterface)
        v.next[i] = NodeID.ip4Lookup.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension FIPDNAT: GraphNode {
  public static let next: [NodeID] = [.ip4Lookup, .icmpError]
  public static let drops: [DropReason] = DropReason.natErrors + DropReason.tooBig + [.natTTLExpired]
}
