import Buffers
import Tables
import Wire

/// `fip-snat`: a local VM's packet leaves through its floating IP (DOMAIN.md path 4), from
/// its own compute node, straight onto the external network: the source address becomes
/// the floating IP (1:1, ports unchanged) with the IPv4 and TCP/UDP checksums patched; an
/// ICMP error the VM sends has its quote's destination translated too (RFC 5508 §4.2).
/// Then: destination MAC = the upstream gateway (resolved by ARP), source MAC = this node's
/// uplink MAC, out of the uplink. Stateless: fragments pass (only the first carries L4).
///
/// Drops: `external-next-hop-unresolved`, `nat-truncated`.
/// Next nodes: port-output, error-drop.
@frozen
public struct FIPSNAT {
  public static let id = NodeID.fipSNAT
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, external: ExternalTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      let fip = external.floatingIPs[Int(p.context)]
      do throws(DropReason) {
        guard fip.upstreamResolved && external.uplinkPort >= 0 else { throw .externalNextHopUnresolved }
        let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
        try Self.translate(ip, fip: fip)
        p.data.storeMAC(fip.upstreamMAC, at: 0)
        p.data.storeMAC(external.uplinkMAC, at: 6)
        v.packets[i].outPort = UInt16(truncatingIfNeeded: external.uplinkPort)
        v.next[i] = NodeID.portOutput.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }

  /// Source fixed IP → floating IP, and for an ICMP error the quote's destination too.
  @inlinable @inline(__always)
  static func translate(_ ip: IPv4Header, fip: FloatingIPInfo) throws(DropReason) {
    guard ip.fragmentOffset == 0 else {
      NATRewrite.rewrite(ip, l4: nil, .source, address: fip.address, port: nil)
      return
    }
    let proto = ip.proto
    guard proto == IPProtocol.tcp || proto == IPProtocol.udp || proto == IPProtocol.icmp else {
      NATRewrite.rewrite(ip, l4: nil, .source, address: fip.address, port: nil)
      return
    }
    let l4 = try NATRewrite.l4(ip)
    if proto == IPProtocol.icmp && ICMPv4Header.MessageType.isError(l4.loadU8(at: 0)) {
      let q = try NATRewrite.quote(icmp: l4, length: ip.payloadLength)
      if q.destination == fip.inside { NATRewrite.rewriteQuote(q, icmp: l4, .destination, address: fip.address, port: nil) }
    }
    NATRewrite.rewrite(ip, l4: l4, .source, address: fip.address, port: nil)
  }
}

extension FIPSNAT: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = DropReason.natErrors + [.externalNextHopUnresolved]
}
