import Buffers
import Tables
import Wire

/// `snat-out2in`: a packet from the external network to a router's external IP on its SNAT
/// node (external-input found it, `context` = the router's VRF). Only packets of a live
/// session pass: (external IP, protocol, external port, remote IP, remote port) finds it
/// (ICMP echo reply: the identifier); the destination becomes the VM's inside IP:port with
/// every checksum patched. An ICMP error about a packet a session sent (time exceeded from
/// a router on the way, port unreachable from the remote host) is matched by its quote, and
/// the quote's source is translated back too (RFC 5508 §4.2). The packet then enters the
/// router (ip4-lookup in the router's VRF decrements the TTL and sends it to the VM's node
/// over the overlay, or to a local port).
///
/// The router's external IP answers ICMP echo itself. Before translating, the router hop's
/// checks, with ICMP errors from the external IP quoting the packet as sent (icmp-error):
/// TTL ≤ 1 → time exceeded; longer than the MTU of the VM's network with DF → fragmentation
/// needed (looked up only for packets longer than the smallest router MTU).
///
/// With more than one worker, a packet whose external port (an error's: its quote's source
/// port) lies in another worker's slice of the router's range goes to nat-handoff untouched:
/// that worker created the session (`NATPartition`).
///
/// Drops: `snat-no-gateway` (a handed-over packet's router is gone), `snat-no-session` (unsolicited, or the session expired), `snat-fragment`,
/// `nat-ttl-expired` (ICMP sent), `ip4-fragmentation-needed` (ICMP sent),
/// `ip4-fragmentation-unsupported`, `nat-unsupported-protocol`, `nat-truncated`,
/// `nat-icmp-error-no-match`.
/// Next nodes: ip4-lookup, nat-handoff, port-output (echo reply), icmp-error, error-drop.
@frozen
public struct SNATOut2In {
  public static let id = NodeID.snatOut2In
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, external: ExternalTables, sessions: SessionTable, now: UInt32,
                      worker: Int, workers: Int, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        // (Checked for packets handed over from another worker under an older snapshot.)
        guard Int(p.context) < external.gatewayCount else { throw .snatNoGateway }
        let gw = external.gateways[Int(p.context)]
        let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
        guard !ip.isFragment else { throw .snatFragment }
        let l4 = try NATRewrite.l4(ip)
        let proto = ip.proto
        if proto == IPProtocol.icmp && l4.loadU8(at: 0) == ICMPv4Header.MessageType.echoRequest && ip.destination.value == gw.externalIP {
          let icmp = try ICMPv4Header(validating: l4, length: ip.payloadLength)
          IP4Local.answerEcho(p.data, ip: ip, icmp: icmp, from: p.data.loadMAC(at: 0))
          v.packets[i].outPort = p.inPort
          v.next[i] = NodeID.portOutput.rawValue
          continue
        }
        guard ip.ttl > 1 else {
          counters.drop(Self.id, .natTTLExpired)
          v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.timeExceeded, code: 0))
          continue
        }
        if proto == IPProtocol.icmp && !ICMPv4Header.MessageType.isQuery(l4.loadU8(at: 0)) {
          let q = try NATRewrite.quote(icmp: l4, length: ip.payloadLength)
          if workers > 1 {
            let owner = NATPartition(portLow: gw.portLow, portHigh: gw.portHigh, workers: workers).owner(port: q.sourcePort, fallback: worker)
            if owner != worker {
              v.handOff(i, to: owner, resumingAt: Self.id)
              continue
            }
          }
          let icmpQuery = q.proto == IPProtocol.icmp
          let k = sessions.lookupOut2In(externalIP: q.source, proto: q.proto, externalPort: q.sourcePort, remoteIP: q.destination,
                                        remotePort: icmpQuery ? 0 : q.destinationPort)
          guard k >= 0, q.source == gw.externalIP, !sessions.isExpired(sessions.session(k).pointee, now: now) else {
            throw .natICMPErrorNoMatch
          }
          let s = sessions.session(k).pointee
          NATRewrite.rewriteQuote(q, icmp: l4, .source, address: s.insideIP, port: s.insidePort)
          NATRewrite.rewrite(ip, l4: l4, .destination, address: s.insideIP, port: nil)
        } else {
          let externalPort = NATRewrite.port(l4, proto: proto, .destination)
          if workers > 1 {
            let owner = NATPartition(portLow: gw.portLow, portHigh: gw.portHigh, workers: workers).owner(port: externalPort, fallback: worker)
            if owner != worker {
              v.handOff(i, to: owner, resumingAt: Self.id)
              continue
            }
          }
          let k = sessions.lookupOut2In(externalIP: gw.externalIP, proto: proto, externalPort: externalPort,
                                        remoteIP: ip.source.value,
                                        remotePort: proto == IPProtocol.icmp ? 0 : NATRewrite.port(l4, proto: proto, .source))
          guard k >= 0 else { throw .snatNoSession }
          let s = sessions.session(k)
          guard !sessions.isExpired(s.pointee, now: now) else { throw .snatNoSession }
          let length = Int(ip.totalLength)
          if length > routing.minMTU, let mtu = routing.egressMTU(vrf: UInt16(truncatingIfNeeded: p.context), ip: s.pointee.insideIP,
                                                                   uplinkMTU: external.uplinkMTU), length > mtu {
            v.refuseTooBig(i, dontFragment: ip.dontFragment, mtu: mtu, node: Self.id, counters: counters)
            continue
          }
          if proto == IPProtocol.tcp { s.pointee.tcp = TCPState.update(s.pointee.tcp, flags: l4.loadU8(at: 13), fromOutside: true) }
          s.pointee.lastSeen = now
          s.pointee.packetsOut2In &+= 1
          NATRewrite.rewrite(ip, l4: l4, .destination, address: s.pointee.insideIP, port: s.pointee.insidePort)
        }
        v.packets[i].context = UInt32(gw.routerInterface)
        v.next[i] = NodeID.ip4Lookup.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension SNATOut2In: GraphNode {
  public static let next: [NodeID] = [.ip4Lookup, .natHandoff, .icmpError, .portOutput]
  public static let drops: [DropReason] = DropReason.natErrors + DropReason.tooBig + [.natTTLExpired, .snatNoSession, .snatFragment,
                                                                                      .snatNoGateway]
}
