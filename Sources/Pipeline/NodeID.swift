import Buffers
import Wire

/// Every node of the graph. The raw value is the node's index in per-node arrays and the
/// order in which the runner visits nodes: a node's successors have larger raw values
/// (the graph is a DAG in this order). Names are the kebab-case strings that the CLI,
/// metrics and traces share; never rename one.
public enum NodeID: UInt16, CaseIterable, Sendable, CustomStringConvertible {
  case ethernetInput = 0
  case underlayARP = 1
  case vxlanInput = 2
  case externalInput = 3
  case externalARP = 4
  case l2Input = 5
  case arpResponder = 6
  case l2Forward = 7
  case ip4Input = 8
  case fipDNAT = 9
  case snatOut2In = 10
  case ip4Lookup = 11
  case ip4Local = 12
  case ip4External = 13
  case fipSNAT = 14
  case snatIn2Out = 15
  case icmpError = 16
  case l2Flood = 17
  case vxlanEncap = 18
  case portOutput = 19
  case errorDrop = 20

  public static let count = allCases.count

  public var name: String {
    switch self {
    case .ethernetInput: "ethernet-input"
    case .underlayARP: "underlay-arp"
    case .vxlanInput: "vxlan-input"
    case .arpResponder: "arp-responder"
    case .vxlanEncap: "vxlan-encap"
    case .ip4Input: "ip4-input"
    case .externalInput: "external-input"
    case .externalARP: "external-arp"
    case .fipDNAT: "fip-dnat"
    case .snatOut2In: "snat-out2in"
    case .ip4External: "ip4-external"
    case .fipSNAT: "fip-snat"
    case .snatIn2Out: "snat-in2out"
    case .ip4Lookup: "ip4-lookup"
    case .ip4Local: "ip4-local"
    case .icmpError: "icmp-error"
    case .l2Input: "l2-input"
    case .l2Forward: "l2-forward"
    case .l2Flood: "l2-flood"
    case .portOutput: "port-output"
    case .errorDrop: "error-drop"
    }
  }
  public var description: String { name }
}

/// Counters of every node on one worker. Index layout: per node a block of
/// `stride` counters: 0 vectors (calls), 1 packets, 2 cycles (TSC), 3 + r: drops with
/// `DropReason(rawValue: r)`.
///
/// Thread safety: single writer (the worker), any reader (see `CounterBlock`).
@frozen
public struct NodeCounters: @unchecked Sendable {
  public static let stride = 3 + 256
  public let block: CounterBlock
  public init() { block = CounterBlock(count: NodeID.count * Self.stride) }
  public func destroy() { block.destroy() }

  /// Success counters, once per vector (VPP `vlib_node_increment_counter` after the loop).
  @inlinable @inline(__always)
  public func vector(_ node: NodeID, packets: Int, cycles: UInt64) {
    let b = Int(node.rawValue) &* Self.stride
    block.add(b, 1)
    block.add(b &+ 1, UInt64(packets))
    block.add(b &+ 2, cycles)
  }
  /// A drop, counted where it is decided.
  @inlinable @inline(__always)
  public func drop(_ node: NodeID, _ reason: DropReason) {
    block.add(Int(node.rawValue) &* Self.stride &+ 3 &+ Int(reason.rawValue), 1)
  }

  public func vectors(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride) }
  public func packets(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride + 1) }
  public func cycles(_ node: NodeID) -> UInt64 { block.read(Int(node.rawValue) * Self.stride + 2) }
  public func drops(_ node: NodeID, _ reason: DropReason) -> UInt64 {
    block.read(Int(node.rawValue) * Self.stride + 3 + Int(reason.rawValue))
  }
  /// Every non-zero (node, reason, count), for `show drops`.
  public func allDrops() -> [(NodeID, DropReason, UInt64)] {
    var out: [(NodeID, DropReason, UInt64)] = []
    for n in NodeID.allCases {
      for r in DropReason.allCases {
        let c = drops(n, r)
        if c > 0 { out.append((n, r, c)) }
      }
    }
    return out
  }
}

extension PacketVector {
  /// Marks packet `i` dropped with `reason`, counts it for `node` and sends it to error-drop.
  @inlinable @inline(__always)
  public func drop(_ i: Int, _ reason: DropReason, node: NodeID, counters: NodeCounters) {
    packets[i].drop = reason.rawValue
    next[i] = NodeID.errorDrop.rawValue
    counters.drop(node, reason)
  }
}
