import Buffers
import Compiler
import Control
import Foundation
import IO
import Pipeline
import Tables
import Wire

/// Capture, live trace and dry-run trace requests (`capture.*`, `trace.*`), and how trace
/// records read: node names, drop reasons, port names and what the node used.
///
/// Thread safety: control thread only.
extension DataplaneController {
  /// The interface index of a local port id, `underlay` or `uplink` in the published snapshot.
  func interfaceIndex(_ name: String) throws(ControlError) -> Int {
    let key = InterfaceKey(operatorName: name)
    if case .port = key, state.ports[name] == nil { throw ControlError("not-found", "no port '\(name)'") }
    guard let i = assignment.interfaces[key], i < tables.snapshot().portCount else {
      throw ControlError("not-local", "'\(name)' has no interface on this node")
    }
    return i
  }

  func interfaceName(_ i: Int) -> String { assignment.interfaces.keys[i]?.operatorName ?? "interface \(i)" }

  /// The reply to a `capture.*` or `trace.*` request.
  func observeReply(_ r: ControlRequest) throws(ControlError) -> any Encodable {
    switch r {
    case .captureStart(let c): return ControlReply(result: try taps.startCapture(c, interface: interfaceIndex(c.port)))
    case .captureStatus: return ControlReply(result: taps.captureStatus())
    case .captureStop:
      taps.finishCapture("stopped")
      return ControlReply(result: taps.captureStatus())
    case .traceStart(let t): return ControlReply(result: try taps.startTrace(t, interface: interfaceIndex(t.port)))
    case .traceStop:
      taps.stopTrace("stopped")
      return ControlReply(result: traceReply())
    case .tracePacket(let t): return ControlReply(result: try dryRun(t))
    default: return ControlReply(result: traceReply())
    }
  }

  /// The live trace's packets, each with its records in order.
  func traceReply() -> TraceReply {
    let (st, request, lost) = taps.traceStatus()
    return TraceReply(state: st, port: request?.port, filter: request?.filter, wanted: request?.count ?? 0, lost: lost,
                      packets: tracedPackets(taps.records))
  }

  func tracedPackets(_ records: [TapRecord]) -> [TracedPacket] {
    var order: [UInt32] = []
    var byID: [UInt32: [TapRecord]] = [:]
    for r in records where r.kind == .traced {
      if byID[r.packetID] == nil { order.append(r.packetID) }
      byID[r.packetID, default: []].append(r)
    }
    return order.map { id in
      let recs = byID[id]!
      let t0 = recs.first!.time
      return TracedPacket(id: id, worker: recs.first!.worker, steps: recs.map { step($0, since: t0) })
    }
  }

  private func step(_ r: TapRecord, since t0: UInt64) -> TraceStep {
    let node = r.node == TapRecord.receivedNode ? "rx" : r.node == TapRecord.flowsNode ? "operator-flows"
      : NodeID(rawValue: r.node)?.name ?? "node \(r.node)"
    let next = r.next == TapRecord.noNext ? nil : NodeID(rawValue: r.next)?.name
    let drop = r.drop == 0 ? Self.answeredReason(r)?.name : DropReason(rawValue: r.drop)?.name
    let out = r.node == NodeID.portOutput.rawValue ? interfaceName(Int(r.outPort)) : nil
    return TraceStep(nanoseconds: r.time &- t0, node: node, next: next, drop: drop, inPort: interfaceName(Int(r.inPort)), outPort: out,
                     generation: r.generation, frame: FrameSummary.describe(r.bytes, wireLength: r.wireLength), detail: detail(r))
  }

  /// The IPv4 destination of an untagged frame a record kept (routing nodes see no others).
  static func ipv4Destination(_ r: TapRecord) -> IPv4Address? {
    guard r.bytes.count >= 34 else { return nil }
    return IPv4Address(r.bytes[30], r.bytes[31], r.bytes[32], r.bytes[33])
  }

  /// The reason a node counted when it handed the packet to icmp-error to be answered (the
  /// packet carries the error's type and code, not the reason: `sendICMPError`).
  static func answeredReason(_ r: TapRecord) -> DropReason? {
    guard r.next == NodeID.icmpError.rawValue else { return nil }
    switch (r.context >> 24, r.context >> 16 & 0xff) {
    case (11, _): return .ip4TTLExpired
    case (3, 0): return .ip4NoRoute
    case (3, 1): return .ip4NeighborUnknown
    case (3, 4): return .ip4FragmentationNeeded
    default: return nil
    }
  }

  /// What a node used, named by the objects of the state: the FDB entry's port, the route.
  private func detail(_ r: TapRecord) -> String? {
    if r.node == TapRecord.flowsNode {
      guard let id = assignment.flows.keys[Int(r.context)], let f = state.flows[id] else { return "an operator flow since deleted" }
      return "flow '\(id)' (priority \(f.priority)): \(f.matchText) -> \(f.actionText)"
    }
    guard let node = NodeID(rawValue: r.node) else { return nil }
    if r.drop != 0 { return dropDetail(r, DropReason(rawValue: r.drop)) }
    if r.next == NodeID.icmpError.rawValue {
      let answer = "answered with ICMP type \(r.context >> 24) code \(r.context >> 16 & 0xff)"
      guard Self.answeredReason(r) == .ip4NoRoute, let dst = Self.ipv4Destination(r) else { return answer }
      return "no route to \(dst) in " + routersOf(inPort: Int(r.inPort)).map { "router \($0)" }.joined(separator: ", ") + "; " + answer
    }
    switch node {
    case .l2Forward:
      switch NodeID(rawValue: r.next) {
      case .portOutput?, .aclIngress?: return "fdb: to port \(interfaceName(Int(r.outPort)))"
      case .vxlanEncap?: return "fdb: behind a remote VTEP (tunnel)"
      case .ip4Input?: return "fdb: a router's gateway MAC: routed"
      case .l2Flood?: return "fdb: no entry or broadcast: flooded"
      default: return nil
      }
    case .ip4Lookup:
      return Self.ipv4Destination(r).flatMap { route(to: $0, inPort: Int(r.inPort)) }
    default: return nil
    }
  }

  /// The routers with an interface on the in-port's network (every router for other interfaces).
  private func routersOf(inPort: Int) -> [String] {
    guard case .port(let id)? = assignment.interfaces.keys[inPort], let net = state.ports[id]?.network else {
      return state.routers.keys.sorted()
    }
    return state.routers.values.filter { $0.interfaces.contains { $0.network == net } }.map(\.id).sorted()
  }

  /// The object behind a drop: the port whose port security or rules refused the packet.
  private func dropDetail(_ r: TapRecord, _ reason: DropReason?) -> String? {
    func port(_ i: UInt16) -> LogicalPort? {
      if case .port(let id)? = assignment.interfaces.keys[Int(i)] { return state.ports[id] }
      return nil
    }
    switch reason {
    case .l2SourceSpoofed?:
      guard let p = port(r.inPort) else { return nil }
      return "port security: port \(p.id) sends only from \(p.mac)"
    case .aclIngressDeny?, .aclEgressDeny?:
      guard let p = port(reason == .aclIngressDeny ? r.outPort : r.inPort) else { return nil }
      let lists = state.networks[p.network]?.securityLists ?? []
      return "no rule admits it: port \(p.id), security groups [\(p.groups.joined(separator: ", "))], "
        + "network \(p.network)'s security lists [\(lists.joined(separator: ", "))]"
    default: return nil
    }
  }

  /// The longest prefix of the routers on the in-port's network (or of every router, for a
  /// packet from the underlay) that covers `dst`: a connected subnet, a static route, or the
  /// external gateway.
  private func route(to dst: IPv4Address, inPort: Int) -> String? {
    var routers = Array(state.routers.values)
    if case .port(let id)? = assignment.interfaces.keys[inPort], let net = state.ports[id]?.network {
      routers = routers.filter { $0.interfaces.contains { $0.network == net } }
    }
    var best: (Int, String)?
    for router in routers.sorted(by: { $0.id < $1.id }) {
      for i in router.interfaces where IPv4Prefix(i.address, i.prefixLength).contains(dst) && i.prefixLength > (best?.0 ?? -1) {
        best = (i.prefixLength, "route \(IPv4Prefix(i.address, i.prefixLength)) connected to network \(i.network) (router \(router.id))")
      }
      for s in router.routes where s.prefix.contains(dst) && s.prefix.length > (best?.0 ?? -1) {
        best = (s.prefix.length, "route \(s.prefix) via \(s.nextHop) (router \(router.id))")
      }
      if let g = router.gateway, best == nil {
        best = (0, "no tenant route: external gateway \(g.externalIP) (router \(router.id))")
      }
    }
    return best?.1
  }
}

// MARK: - operator flows

extension DataplaneController {
  /// Flow number n's packets and bytes, summed over workers.
  func flowHits(_ n: Int) -> [UInt64] {
    flowCounters.reduce([0, 0]) { [$0[0] &+ $1.read(2 * n), $0[1] &+ $1.read(2 * n + 1)] }
  }

  /// Every operator flow in the order they are tried, with its hits since it was added.
  func showFlows() -> [FlowRow] {
    let snap = tables.snapshot()
    var active = Set<Int>()
    for i in 0..<snap.flows.interfaces {
      for k in Int(snap.flows.start[i])..<Int(snap.flows.start[i + 1]) { active.insert(Int(snap.flows.entries[k].counter)) }
    }
    return state.flows.values.sorted { ($0.priority, $1.id) > ($1.priority, $0.id) }.map { f in
      let n = assignment.flows[f.id]
      let c = n.map { flowBaselines.since($0, flowHits($0)) } ?? [0, 0]
      return FlowRow(id: f.id, priority: f.priority, match: f.matchText, action: f.actionText, inactive: !(n.map(active.contains) ?? false),
                     packets: c[0], bytes: c[1])
    }
  }
}
