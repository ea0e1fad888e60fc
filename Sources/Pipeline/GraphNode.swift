import Wire

/// What every graph node declares about itself, as data: where it may send a packet and
/// why it may drop one. `NodeRegistry.swift` lists every node; `GraphDeclarationTests`
/// checks that the order of `NodeID` is topological (every declared successor has a larger
/// raw value), and debug builds record every edge a packet actually takes
/// (`Graph.observedEdges`), which the fixture tests check against `next`.
///
/// A node sends to `error-drop` through `PacketVector.drop` whenever it drops; that edge is
/// implied by a non-empty `drops` and not listed in `next`.
public protocol GraphNode {
  static var id: NodeID { get }
  /// The nodes this node may hand a packet to.
  static var next: [NodeID] { get }
  /// The reasons this node may count a drop for.
  static var drops: [DropReason] { get }
}

extension DropReason {
  /// What `EthernetHeader(validating:)` refuses.
  public static let ethernetErrors: [DropReason] = [.l2TooShort, .l2VlanTooShort, .l2TooManyTags]
  /// What `ARPHeader(validating:)` refuses.
  public static let arpErrors: [DropReason] = [.arpTooShort, .arpUnsupported]
  /// What `IPv4Header(validating:)` refuses, and a bad header checksum.
  public static let ipv4Errors: [DropReason] = [.ipTooShort, .ipBadVersion, .ipBadHeaderLength, .ipBadTotalLength, .ipBadChecksum]
  /// What the ICMP, UDP and TCP validators refuse.
  public static let l4Errors: [DropReason] = [.icmpTooShort, .udpTooShort, .udpBadLength, .tcpTooShort, .tcpBadDataOffset]
  /// What NAT rewriting refuses (`NATRewrite`), and an ICMP error quoting no known flow.
  public static let natErrors: [DropReason] = [.natTruncated, .natUnsupportedProtocol, .natICMPErrorNoMatch] + l4Errors
  /// What a node that meets a smaller MTU counts (`PacketVector.refuseTooBig`).
  public static let tooBig: [DropReason] = [.ip4FragmentationNeeded, .ip4FragmentationUnsupported]
}
