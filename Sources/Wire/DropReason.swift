/// Why the data plane discarded a packet.
///
/// Raw values are part of the operator interface: the CLI (`show drops`), metrics and
/// traces print them. Append new cases; never renumber or reuse one. 0 means "not dropped"
/// and is never a case.
public enum DropReason: UInt8, CaseIterable, Error, Sendable, CustomStringConvertible {
  // ---- L2 (1–19)
  case l2TooShort = 1
  case l2VlanTooShort = 2
  case l2TooManyTags = 3
  case l2SourceMulticast = 4
  case l2UnknownDestination = 5
  case l2NoOutputPort = 6
  case l2Hairpin = 7
  case l2InterfaceUnattached = 8
  case l2SourceSpoofed = 9
  case l2FloodNoMembers = 10
  case l2FloodNoBuffer = 11
  case l2RemoteUnreachable = 12
  case l2TunnelToTunnel = 13
  // ---- ARP (20–29)
  case arpTooShort = 20
  case arpUnsupported = 21
  case arpConsumed = 22
  // ---- IPv4 (30–49)
  case ipTooShort = 30
  case ipBadVersion = 31
  case ipBadHeaderLength = 32
  case ipBadTotalLength = 33
  case ipBadChecksum = 34
  // ---- ICMP / UDP / TCP (50–69)
  case icmpTooShort = 50
  case udpTooShort = 51
  case udpBadLength = 52
  case tcpTooShort = 53
  case tcpBadDataOffset = 54
  // ---- VXLAN (70–79)
  case vxlanTooShort = 70
  case vxlanBadFlags = 71
  case vxlanNoTunnel = 72
  case vxlanFragment = 73
  case vxlanMTUExceeded = 74
  case vxlanNoHeadroom = 75
  case vxlanNextHopUnresolved = 76
  case vxlanInnerTooShort = 77
  case vxlanBadUDPChecksum = 78
  // ---- IPv6 (80–89)
  case ip6TooShort = 80
  case ip6BadVersion = 81
  case ip6BadPayloadLength = 82
  // ---- Underlay (90–99)
  case underlayNotForUs = 90
  case underlayUnsupported = 91
  // ---- IPv4 routing (100–119)
  case ip4NoRoute = 100
  case ip4TTLExpired = 101
  case ip4FragmentationNeeded = 102
  case ip4NeighborUnknown = 103
  case ip4LocalUnsupported = 104
  case ip4FragmentationUnsupported = 105
  case ip4RoutedFromTunnel = 106
  case icmpErrorRateLimited = 107
  case icmpErrorSuppressed = 108
  case icmpErrorNoHeadroom = 109
  case ip4UnsupportedEtherType = 110
  case icmpErrorNoSource = 111
  // ---- External network, floating IPs, SNAT (120–139)
  case externalNotForUs = 120
  case externalUnsupported = 121
  case externalNextHopUnresolved = 122
  case snatNoSession = 123
  case snatPortsExhausted = 124
  case snatTableFull = 125
  case natUnsupportedProtocol = 126
  case snatFragment = 127
  case natTTLExpired = 128
  case natICMPErrorNoMatch = 129
  case snatNoGateway = 130
  case natTruncated = 131
  case natHandoffRingFull = 132
  case natHandoffNoBuffer = 133
  // Security groups and lists, connection tracking.
  case aclIngressDeny = 140
  case aclEgressDeny = 141
  case ctInvalid = 142
  case ctTableFull = 143
  case ctFragment = 144
  case aclNotIPv4 = 145
  // Operator flows (at an interface's ingress, before the pipeline).
  case operatorFlowDrop = 150
  case operatorFlowNoBuffer = 151

  case peeringDown = 160
  case peeringLoop = 161
  // ---- I/O (200–219)
  case rxNoBuffer = 200
  case rxTruncated = 201
  case txRingFull = 202
  case txFrameTooLong = 203
  case txNoBuffer = 204
  case txMTUExceeded = 205
  case rxRingOverflow = 206
  case rxGSOMalformed = 207
  case rxGSOUnsupported = 208

  /// The stable kebab-case name used by the CLI, metrics labels and traces.
  public var name: String {
    switch self {
    case .l2TooShort: "l2-too-short"
    case .l2VlanTooShort: "l2-vlan-too-short"
    case .l2TooManyTags: "l2-too-many-tags"
    case .l2SourceMulticast: "l2-source-multicast"
    case .l2UnknownDestination: "l2-unknown-destination"
    case .l2NoOutputPort: "l2-no-output-port"
    case .l2Hairpin: "l2-hairpin"
    case .l2InterfaceUnattached: "l2-interface-unattached"
    case .l2SourceSpoofed: "l2-source-spoofed"
    case .l2FloodNoMembers: "l2-flood-no-members"
    case .l2FloodNoBuffer: "l2-flood-no-buffer"
    case .l2RemoteUnreachable: "l2-remote-unreachable"
    case .l2TunnelToTunnel: "l2-tunnel-to-tunnel"
    case .arpTooShort: "arp-too-short"
    case .arpUnsupported: "arp-unsupported"
    case .arpConsumed: "arp-consumed"
    case .ipTooShort: "ip4-too-short"
    case .ipBadVersion: "ip4-bad-version"
    case .ipBadHeaderLength: "ip4-bad-header-length"
    case .ipBadTotalLength: "ip4-bad-total-length"
    case .ipBadChecksum: "ip4-bad-checksum"
    case .icmpTooShort: "icmp-too-short"
    case .udpTooShort: "udp-too-short"
    case .udpBadLength: "udp-bad-length"
    case .tcpTooShort: "tcp-too-short"
    case .tcpBadDataOffset: "tcp-bad-data-offset"
    case .vxlanTooShort: "vxlan-too-short"
    case .vxlanBadFlags: "vxlan-bad-flags"
    case .vxlanNoTunnel: "vxlan-no-tunnel"
    case .vxlanFragment: "vxlan-fragment"
    case .vxlanMTUExceeded: "vxlan-mtu-exceeded"
    case .vxlanNoHeadroom: "vxlan-no-headroom"
    case .vxlanNextHopUnresolved: "vxlan-next-hop-unresolved"
    case .vxlanInnerTooShort: "vxlan-inner-too-short"
    case .vxlanBadUDPChecksum: "vxlan-bad-udp-checksum"
    case .underlayNotForUs: "underlay-not-for-us"
    case .ip4NoRoute: "ip4-no-route"
    case .ip4TTLExpired: "ip4-ttl-expired"
    case .ip4FragmentationNeeded: "ip4-fragmentation-needed"
    case .ip4NeighborUnknown: "ip4-neighbor-unknown"
    case .ip4LocalUnsupported: "ip4-local-unsupported"
    case .ip4FragmentationUnsupported: "ip4-fragmentation-unsupported"
    case .ip4RoutedFromTunnel: "ip4-routed-from-tunnel"
    case .icmpErrorRateLimited: "icmp-error-rate-limited"
    case .icmpErrorSuppressed: "icmp-error-suppressed"
    case .icmpErrorNoHeadroom: "icmp-error-no-headroom"
    case .ip4UnsupportedEtherType: "ip4-unsupported-ethertype"
    case .icmpErrorNoSource: "icmp-error-no-source"
    case .externalNotForUs: "external-not-for-us"
    case .externalUnsupported: "external-unsupported"
    case .externalNextHopUnresolved: "external-next-hop-unresolved"
    case .snatNoSession: "snat-no-session"
    case .snatPortsExhausted: "snat-ports-exhausted"
    case .snatTableFull: "snat-table-full"
    case .natUnsupportedProtocol: "nat-unsupported-protocol"
    case .snatFragment: "snat-fragment"
    case .natTTLExpired: "nat-ttl-expired"
    case .natICMPErrorNoMatch: "nat-icmp-error-no-match"
    case .snatNoGateway: "snat-no-gateway"
    case .natTruncated: "nat-truncated"
    case .natHandoffRingFull: "nat-handoff-ring-full"
    case .natHandoffNoBuffer: "nat-handoff-no-buffer"
    case .aclIngressDeny: "acl-ingress-deny"
    case .aclEgressDeny: "acl-egress-deny"
    case .ctInvalid: "ct-invalid"
    case .ctTableFull: "ct-table-full"
    case .ctFragment: "ct-fragment"
    case .aclNotIPv4: "acl-not-ipv4"
    case .operatorFlowDrop: "operator-flow-drop"
    case .operatorFlowNoBuffer: "operator-flow-no-buffer"
    case .peeringDown: "peering-down"
    case .peeringLoop: "peering-loop"
    case .underlayUnsupported: "underlay-unsupported"
    case .ip6TooShort: "ip6-too-short"
    case .ip6BadVersion: "ip6-bad-version"
    case .ip6BadPayloadLength: "ip6-bad-payload-length"
    case .rxNoBuffer: "rx-no-buffer"
    case .rxTruncated: "rx-truncated"
    case .txRingFull: "tx-ring-full"
    case .txFrameTooLong: "tx-frame-too-long"
    case .txNoBuffer: "tx-no-buffer"
    case .txMTUExceeded: "tx-mtu-exceeded"
    case .rxRingOverflow: "rx-ring-overflow"
    case .rxGSOMalformed: "rx-gso-malformed"
    case .rxGSOUnsupported: "rx-gso-unsupported"
    }
  }

  /// One line for operators: what was wrong with the packet, or what ran out.
  public var description: String {
    switch self {
    case .l2TooShort: "Ethernet frame shorter than 14 bytes"
    case .l2VlanTooShort: "802.1Q tag announced but frame too short to hold it"
    case .l2TooManyTags: "more than two VLAN tags"
    case .l2SourceMulticast: "source MAC is multicast or broadcast (IEEE 802.3 §3.2.3)"
    case .l2UnknownDestination: "no FDB entry for the destination MAC"
    case .l2NoOutputPort: "FDB entry names a port that does not exist"
    case .l2Hairpin: "destination is on the port the frame came in on"
    case .l2InterfaceUnattached: "frame arrived on an interface that belongs to no network port"
    case .l2SourceSpoofed: "source MAC is not the port's own (port security)"
    case .l2FloodNoMembers: "broadcast/unknown frame and no other local port in its network"
    case .l2FloodNoBuffer: "no buffer to copy a flooded frame into"
    case .l2RemoteUnreachable: "destination port is on another node and this node has no underlay"
    case .l2TunnelToTunnel: "frame from a tunnel for a MAC behind another tunnel (split horizon)"
    case .arpTooShort: "ARP packet shorter than 28 bytes"
    case .arpUnsupported: "ARP for other than Ethernet/IPv4 (RFC 826)"
    case .arpConsumed: "ARP reply or announcement: read by the control plane to resolve neighbours, not forwarded"
    case .ipTooShort: "IPv4 packet shorter than 20 bytes"
    case .ipBadVersion: "IP version field is not 4"
    case .ipBadHeaderLength: "IPv4 IHL below 5 or beyond the total length"
    case .ipBadTotalLength: "IPv4 total length exceeds the frame"
    case .ipBadChecksum: "IPv4 header checksum mismatch (RFC 1071)"
    case .icmpTooShort: "ICMP message shorter than 8 bytes"
    case .udpTooShort: "UDP datagram shorter than 8 bytes"
    case .udpBadLength: "UDP length field below 8 or beyond the IP payload"
    case .tcpTooShort: "TCP segment shorter than 20 bytes"
    case .tcpBadDataOffset: "TCP data offset below 5 or beyond the segment"
    case .vxlanTooShort: "VXLAN header shorter than 8 bytes"
    case .vxlanBadFlags: "VXLAN I flag not set (RFC 7348 §5)"
    case .vxlanNoTunnel: "no tunnel from this source VTEP carries this VNI"
    case .vxlanFragment: "outer IPv4 packet is a fragment (VTEPs must not fragment, RFC 7348 §4.3)"
    case .vxlanMTUExceeded: "frame would exceed the underlay MTU once encapsulated"
    case .vxlanNoHeadroom: "no room before the frame for the 50-byte VXLAN header"
    case .vxlanNextHopUnresolved: "underlay next hop's MAC not resolved yet (ARP pending)"
    case .vxlanInnerTooShort: "inner Ethernet frame shorter than 14 bytes"
    case .vxlanBadUDPChecksum: "non-zero outer UDP checksum does not verify"
    case .underlayNotForUs: "underlay frame for another MAC or IP than this VTEP's"
    case .ip4NoRoute: "no route in the router's VRF (ICMP destination unreachable sent, RFC 1812 §5.2.7.1)"
    case .ip4TTLExpired: "TTL would reach 0 (ICMP time exceeded sent, RFC 1812 §5.3.1)"
    case .ip4FragmentationNeeded: "DF set and larger than the egress MTU (ICMP fragmentation needed sent, RFC 1191)"
    case .ip4NeighborUnknown: "no neighbour (port) for the next hop (ICMP host unreachable sent)"
    case .ip4LocalUnsupported: "packet for the router itself that is not an ICMP echo request"
    case .ip4FragmentationUnsupported: "larger than the egress MTU without DF: Gannet does not fragment"
    case .ip4RoutedFromTunnel: "frame for a gateway MAC from the overlay (the source node routes)"
    case .icmpErrorRateLimited: "ICMP error not sent: over the rate limit (RFC 1812 §4.3.2.8)"
    case .icmpErrorSuppressed: "no ICMP error about this packet: it is an ICMP error itself, a non-first fragment, or to or from a multicast, broadcast or zero address (RFC 1812 §4.3.2.7)"
    case .icmpErrorNoHeadroom: "no room before the packet for the ICMP error's 28 extra header bytes"
    case .ip4UnsupportedEtherType: "frame for a gateway MAC that is not untagged IPv4 (no IPv6 routing)"
    case .icmpErrorNoSource: "no ICMP error sent: the packet entered where this node has no router address to send it from"
    case .externalNotForUs: "uplink packet for an address this node does not serve (no floating IP hosted here, no SNAT here)"
    case .externalUnsupported: "uplink frame that is neither ARP nor untagged IPv4"
    case .externalNextHopUnresolved: "upstream gateway's MAC not resolved yet (ARP pending)"
    case .snatNoSession: "packet from outside for the SNAT address that matches no session"
    case .snatPortsExhausted: "new flow: no free port in the router's SNAT port range for this remote endpoint"
    case .snatTableFull: "new flow: the connection table is full"
    case .natUnsupportedProtocol: "SNAT of a protocol other than TCP, UDP or ICMP echo/error"
    case .snatFragment: "IPv4 fragment through SNAT (ports are needed; Gannet does not reassemble)"
    case .natTTLExpired: "TTL would reach 0 on the way in from the external network (ICMP time exceeded sent from the router's external IP)"
    case .natICMPErrorNoMatch: "ICMP error quoting a packet of no session or floating IP"
    case .snatNoGateway: "external route but the router has no external gateway or its SNAT node is unreachable"
    case .natTruncated: "TCP/UDP/ICMP header (or an ICMP error's quote) too short to translate"
    case .natHandoffRingFull: "SNAT packet for the worker that owns its session: that worker's handoff ring is full (it fell behind)"
    case .natHandoffNoBuffer: "SNAT packet handed over by another worker: no free buffer to receive it"
    case .aclIngressDeny: "no rule of the port's security groups or lists admits it towards the VM"
    case .aclEgressDeny: "no rule of the port's security groups or lists admits it from the VM"
    case .ctInvalid: "TCP segment that fits no tracked connection's state and starts none"
    case .ctTableFull: "new connection of a filtered port, but its connection-table bucket is full"
    case .ctFragment: "non-first IPv4 fragment on a filtered port (no ports to match or track)"
    case .aclNotIPv4: "neither IPv4 nor ARP, on a filtered port (rules are IPv4)"
    case .operatorFlowDrop: "an operator flow with action drop matched it (gannetctl flow list)"
    case .operatorFlowNoBuffer: "an operator flow mirrors it: no free buffer for the copy (the frame itself goes on)"
    case .peeringDown: "its route leads to a local peering gateway that is not peered (gannetctl lpg list); ICMP net unreachable sent"
    case .peeringLoop: "its route crosses more than 8 peerings: the route tables make a loop (gannetctl route-table list); ICMP net unreachable sent"
    case .underlayUnsupported: "underlay packet that is neither ARP nor VXLAN (UDP 4789) for this node"
    case .ip6TooShort: "IPv6 packet shorter than 40 bytes"
    case .ip6BadVersion: "IP version field is not 6"
    case .ip6BadPayloadLength: "IPv6 payload length exceeds the frame"
    case .rxNoBuffer: "packet buffer pool empty at receive"
    case .rxTruncated: "received frame (or one segment of a super-frame) longer than a packet buffer"
    case .txRingFull: "transmit ring full"
    case .txFrameTooLong: "frame longer than the port can transmit"
    case .txNoBuffer: "no buffer to copy the frame into for transmit"
    case .txMTUExceeded: "frame longer than the egress interface's MTU (plus its Ethernet header) allows"
    case .rxRingOverflow: "frame the kernel dropped because this port's receive ring was full (the worker fell behind)"
    case .rxGSOMalformed: "TSO/GSO super-frame whose headers do not match its offload description (or a segment size of 0)"
    case .rxGSOUnsupported: "TSO/GSO super-frame of a kind not segmented here (UFO, IPv6 extension headers, a tunnel other than VXLAN over IPv4)"
    }
  }

  /// Looks a reason up by its stable name (CLI input).
  public init?(name: String) {
    guard let r = Self.allCases.first(where: { $0.name == name }) else { return nil }
    self = r
  }
}
