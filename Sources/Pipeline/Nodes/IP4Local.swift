import Buffers
import Wire

/// `ip4-local`: packets for a router's own address (a gateway IP). Answers ICMP echo
/// requests in place (RFC 792; the reply leaves from the gateway IP and MAC, back to the
/// port the request came from); everything else is dropped.
///
/// Drops: `icmp-too-short`, `ip4-local-unsupported`.
/// Next nodes: port-output, error-drop.
@frozen
public struct IP4Local {
  public static let id = NodeID.ip4Local
  public init() {}

  /// Turns a validated echo request into its reply in place: type 0 (checksum patched,
  /// RFC 1624), addresses swapped, TTL 64, back to the sender's MAC from `mac`. Also used
  /// by snat-out2in for a router's external IP.
  @inlinable
  public static func answerEcho(_ frame: UnsafeMutableRawPointer, ip: IPv4Header, icmp: ICMPv4Header, from mac: MACAddress) {
    icmp.type = ICMPv4Header.MessageType.echoReply
    icmp.checksum = Checksum.update(icmp.checksum, old: UInt16(ICMPv4Header.MessageType.echoRequest) << 8, new: 0)
    let asker = ip.source
    ip.source = ip.destination
    ip.destination = asker
    ip.ttl = 64
    ip.fillChecksum()
    frame.storeMAC(frame.loadMAC(at: 6), at: 0)
    frame.storeMAC(mac, at: 6)
  }

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, counters: NodeCounters) {
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
        guard ip.proto == IPProtocol.icmp, !ip.isFragment else { throw .ip4LocalUnsupported }
        let icmp = try ICMPv4Header(validating: ip.payload, length: ip.payloadLength)
        guard icmp.type == ICMPv4Header.MessageType.echoRequest, icmp.code == 0 else { throw .ip4LocalUnsupported }
        Self.answerEcho(p.data, ip: ip, icmp: icmp, from: routing.interfaces[Int(p.context)].mac)
        v.packets[i].outPort = p.inPort
        v.next[i] = NodeID.portOutput.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }
}

extension IP4Local: GraphNode {
  public static let next: [NodeID] = [.portOutput]
  public static let drops: [DropReason] = [.ip4LocalUnsupported, .icmpTooShort]
}
