import Buffers
import Wire

// The one registration of every graph node. Adding a node: its file in Nodes/ (the node,
// with `GraphNode`'s `id`, `next` and `drops`), and here a `NodeID` case with its name, a
// stored node in `GraphNodes`, its line in `dispatch` and its type in `declarations`.

/// Every node of the graph. The raw value is the node's index in per-node arrays and the
/// order in which the runner visits nodes: a node's successors have larger raw values
/// (the graph is a DAG in this order; `GraphDeclarationTests` checks it against every
/// node's declared `next`). Names are the kebab-case strings that the CLI, metrics and
/// traces share; never rename one.
public enum NodeID: UInt16, CaseIterable, Sendable, CustomStringConvertible {
  case ethernetInput = 0
  case underlayARP = 1
  case vxlanInput = 2
  case externalInput = 3
  case externalARP = 4
  case l2Input = 5
  case aclEgress = 6
  case arpResponder = 7
  case l2Forward = 8
  case ip4Input = 9
  case fipDNAT = 10
  case snatOut2In = 11
  case ip4Lookup = 12
  case ip4Local = 13
  case ip4External = 14
  case fipSNAT = 15
  case snatIn2Out = 16
  case natHandoff = 17
  case icmpError = 18
  case l2Flood = 19
  case vxlanEncap = 20
  case aclIngress = 21
  case portOutput = 22
  case errorDrop = 23

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
    case .natHandoff: "nat-handoff"
    case .ip4Lookup: "ip4-lookup"
    case .ip4Local: "ip4-local"
    case .icmpError: "icmp-error"
    case .l2Input: "l2-input"
    case .aclEgress: "acl-egress"
    case .aclIngress: "acl-ingress"
    case .l2Forward: "l2-forward"
    case .l2Flood: "l2-flood"
    case .portOutput: "port-output"
    case .errorDrop: "error-drop"
    }
  }
  public var description: String { name }
}

/// The nodes of one worker's graph, and the static dispatch of a vector to one of them
/// (a switch: no existential, no witness table on the packet path).
///
/// Thread safety: owned by the worker that owns the `Graph`.
@frozen
public struct GraphNodes {
  public var ethernetInput = EthernetInput()
  public var underlayARP = UnderlayARP()
  public var vxlanInput = VXLANInput()
  public var externalInput = ExternalInput()
  public var externalARP = ExternalARP()
  public var fipDNAT = FIPDNAT()
  public var snatOut2In = SNATOut2In()
  public var ip4External = IP4External()
  public var fipSNAT = FIPSNAT()
  public var snatIn2Out = SNATIn2Out()
  public var natHandoff = NATHandoff()
  public var l2Input = L2Input()
  public var aclEgress = ACLEgress()
  public var aclIngress = ACLIngress()
  public var arpResponder = ARPResponder()
  public var l2Forward = L2Forward()
  public var ip4Input = IP4Input()
  public var ip4Lookup = IP4Lookup()
  public var ip4Local = IP4Local()
  public var icmpError = ICMPError(tscHz: TSC.hz)
  public var l2Flood: L2Flood
  public var vxlanEncap = VXLANEncap()
  public var portOutput: PortOutput
  public var errorDrop = ErrorDrop()

  /// Every node's declaration, in `NodeID` order.
  /// (Immutable; metatypes of nodes that are not `Sendable` themselves.)
  nonisolated(unsafe) public static let declarations: [any GraphNode.Type] = [
    EthernetInput.self, UnderlayARP.self, VXLANInput.self, ExternalInput.self, ExternalARP.self, L2Input.self, ACLEgress.self,
    ARPResponder.self, L2Forward.self, IP4Input.self, FIPDNAT.self, SNATOut2In.self, IP4Lookup.self, IP4Local.self, IP4External.self,
    FIPSNAT.self, SNATIn2Out.self, NATHandoff.self, ICMPError.self, L2Flood.self, VXLANEncap.self, ACLIngress.self, PortOutput.self, ErrorDrop.self,
  ]

  public init(maxPorts: Int) {
    portOutput = PortOutput(portCount: maxPorts)
    l2Flood = L2Flood(maxPorts: maxPorts)
  }

  public func destroy() {
    snatIn2Out.destroy()
    aclEgress.destroy()
    aclIngress.destroy()
    ip4Lookup.destroy()
    l2Flood.destroy()
    portOutput.destroy()
  }

  /// Runs node `id` on `v`.
  @inlinable
  public mutating func dispatch(_ id: NodeID, _ v: inout PacketVector, _ env: GraphEnvironment, counters: NodeCounters,
                                tunnelCounters: TunnelCounters) {
    switch id {
    case .ethernetInput:
      ethernetInput.process(&v, underlayPort: env.overlay.underlayPort, uplinkPort: env.external.uplinkPort, counters: counters)
    case .externalInput: externalInput.process(&v, external: env.external, counters: counters)
    case .externalARP: externalARP.process(&v, external: env.external, events: env.events, counters: counters)
    case .fipDNAT: fipDNAT.process(&v, external: env.external, counters: counters)
    case .snatOut2In: snatOut2In.process(&v, routing: env.routing, external: env.external, sessions: env.sessions, now: env.now,
                                         worker: env.queue, workers: env.handoff.workers, counters: counters)
    case .ip4External: ip4External.process(&v, routing: env.routing, external: env.external, counters: counters)
    case .fipSNAT: fipSNAT.process(&v, external: env.external, counters: counters)
    case .snatIn2Out:
      snatIn2Out.process(&v, routing: env.routing, external: env.external, sessions: env.sessions, now: env.now, worker: env.queue,
                         workers: env.handoff.workers, counters: counters)
    case .natHandoff: natHandoff.process(&v, handoff: env.handoff, worker: env.queue, pool: env.pool, counters: counters)
    case .underlayARP: underlayARP.process(&v, overlay: env.overlay, events: env.events, counters: counters)
    case .vxlanInput:
      vxlanInput.process(&v, overlay: env.overlay, routing: env.routing, tunnelCounters: tunnelCounters, counters: counters)
    case .l2Input:
      l2Input.process(&v, interfaces: env.interfaces, table: env.l2, events: env.events, generation: env.generation, counters: counters)
    case .arpResponder: arpResponder.process(&v, overlay: env.overlay, counters: counters)
    case .aclEgress: aclEgress.process(&v, env: env, counters: counters)
    case .aclIngress: aclIngress.process(&v, env: env, counters: counters)
    case .l2Forward:
      l2Forward.process(&v, table: env.l2, portCount: env.portCount, underlayPort: env.overlay.underlayPort, counters: counters,
                        hits: env.hits)
    case .ip4Input: ip4Input.process(&v, routing: env.routing, counters: counters)
    case .ip4Lookup: ip4Lookup.process(&v, routing: env.routing, counters: counters, hits: env.hits, fibHitBase: env.fibHitBase,
                                       neighborHitBase: env.neighborHitBase)
    case .ip4Local: ip4Local.process(&v, routing: env.routing, counters: counters)
    case .icmpError: icmpError.process(&v, env: env, counters: counters)
    case .l2Flood: l2Flood.process(&v, env: env, counters: counters)
    case .vxlanEncap: vxlanEncap.process(&v, overlay: env.overlay, tunnelCounters: tunnelCounters, counters: counters)
    case .portOutput: portOutput.process(&v, ports: env.ports, portCount: env.portCount, releaser: env.releaser, queue: env.queue)
    case .errorDrop: errorDrop.process(&v, releaser: env.releaser)
    }
  }
}
