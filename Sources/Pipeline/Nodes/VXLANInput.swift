import Buffers
import Tables
import Wire

/// `vxlan-input`: decapsulates VXLAN (RFC 7348 §5) arriving on the underlay port and puts
/// the inner frame into the bridge domain of its VNI.
///
/// Checks, in order: outer destination MAC is this VTEP's; outer IPv4 is valid (header
/// checksum, RFC 1071), addressed to the local tunnel IP, and not a fragment; UDP to port
/// 4789 with a consistent length and, when non-zero, a correct checksum (RFC 768; a zero
/// checksum is accepted as §5 requires); the VXLAN I flag; then one exact-match lookup of
/// (source VTEP, VNI): only tunnels the control plane set up for that network are accepted,
/// so a packet can never be injected into a network from an unknown VTEP or another
/// network's tunnel. The inner frame must hold an Ethernet header with a unicast source.
///
/// Drops: `underlay-not-for-us`, `underlay-unsupported`, `ip4-*`, `udp-*`, `vxlan-fragment`,
/// `vxlan-bad-udp-checksum`, `vxlan-too-short`, `vxlan-bad-flags`, `vxlan-no-tunnel`,
/// `vxlan-inner-too-short`, `l2-source-multicast`.
/// Frames from another node's DVR host MAC (routed there) get the network's gateway MAC as
/// source before delivery.
/// Next nodes: l2-forward (context = bridge domain, inPort stays the underlay port), error-drop.
@frozen
public struct VXLANInput {
  public static let id = NodeID.vxlanInput
  public init() {}

  @inlinable
  public func process(_ v: inout PacketVector, overlay: OverlayTables, routing: RoutingTables, tunnelCounters: TunnelCounters,
                      counters: NodeCounters) {
    let restoreDVR = routing.remoteDVRMACs.count > 0
    let myMAC = overlay.localMAC, myIP = overlay.localIP.value
    // Per-tunnel counters are added once per run of packets from the same tunnel.
    var runTunnel = -1, runPackets = 0, runBytes = 0
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        guard p.data.loadMAC(at: 0) == myMAC else { throw .underlayNotForUs }
        let ip = try IPv4Header(validating: p.data + EthernetHeader.minimumLength,
                                length: Int(p.length) &- EthernetHeader.minimumLength)
        guard ip.destination.value == myIP else { throw .underlayNotForUs }
        guard ip.proto == IPProtocol.udp else { throw .underlayUnsupported }
        guard ip.checksumIsValid else { throw .ipBadChecksum }
        guard !ip.isFragment else { throw .vxlanFragment }
        let udp = try UDPHeader(validating: ip.payload, length: ip.payloadLength)
        guard udp.destinationPort == VXLANHeader.udpPort else { throw .underlayUnsupported }
        if udp.checksum != 0 {
          let sum = Checksum.pseudoHeaderSum(source: ip.source, destination: ip.destination, protocol: IPProtocol.udp,
                                             length: udp.length)
          guard udp.checksumIsValid(pseudoHeaderSum: sum) else { throw .vxlanBadUDPChecksum }
        }
        let vxlanLength = Int(udp.length) &- UDPHeader.length
        let vx = try VXLANHeader(validating: udp.payload, length: vxlanLength)
        let innerLength = vxlanLength &- VXLANHeader.length
        guard innerLength >= EthernetHeader.minimumLength else { throw .vxlanInnerTooShort }
        let inner = vx.payload
        guard !inner.loadMAC(at: 6).isMulticast else { throw .l2SourceMulticast }
        guard let hit = overlay.decap.lookup(OverlayTables.decapKey(source: ip.source.value, vni: vx.vni)) else {
          throw .vxlanNoTunnel
        }
        let tunnel = Int(truncatingIfNeeded: hit >> 16)
        if tunnel != runTunnel {
          if runPackets > 0 { tunnelCounters.rx(runTunnel, packets: runPackets, bytes: runBytes) }
          runTunnel = tunnel
          runPackets = 0
          runBytes = 0
        }
        runPackets &+= 1
        runBytes &+= innerLength
        v.packets[i].data = inner
        v.packets[i].length = UInt32(truncatingIfNeeded: innerLength)
        v.packets[i].l3Offset = UInt16(EthernetHeader.minimumLength)
        let domain = Int(truncatingIfNeeded: hit & 0xffff)
        // A frame another node routed carries that node's DVR host MAC: deliver it from the
        // gateway MAC, as if this node had routed it (Neutron DVR).
        if restoreDVR, routing.remoteDVRMACs.lookup(inner.loadMAC(at: 6).rawValue | 1 << 63) != nil {
          let gi = routing.domainInterface[domain]
          if gi >= 0 { inner.storeMAC(routing.interfaces[Int(gi)].mac, at: 6) }
        }
        v.packets[i].context = UInt32(truncatingIfNeeded: domain)
        v.next[i] = NodeID.l2Forward.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
    if runPackets > 0 { tunnelCounters.rx(runTunnel, packets: runPackets, bytes: runBytes) }
  }
}

extension VXLANInput: GraphNode {
  public static let next: [NodeID] = [.l2Forward]
  public static let drops: [DropReason] = DropReason.ipv4Errors + [.udpTooShort, .udpBadLength, .vxlanTooShort, .vxlanBadFlags, .vxlanNoTunnel, .vxlanFragment, .vxlanInnerTooShort, .vxlanBadUDPChecksum, .underlayNotForUs, .underlayUnsupported, .l2SourceMulticast]
}
