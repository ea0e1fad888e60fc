import Control
import IO
import Pipeline
import Wire

/// One interface of a compiled data plane: what it stands for, the port spec a local
/// port is attached with, and what the L2 nodes know of it.
public struct CompiledInterface: Sendable {
  public var key: InterfaceKey
  /// The port spec of a local VM port (nil for the underlay and the uplink).
  public var attachment: String?
  public var info: InterfaceInfo
}

/// Everything one snapshot holds, as plain values, with the index numbering it was made
/// with. Binding it to open ports (`snapshot(generation:port:)`) is the only step left.
///
/// Interface indices are stable (`IndexAssignment.interfaces`): an index whose port is
/// gone or down is a hole, which nothing refers to — no L2 entry, flood list, neighbour
/// or poll list names it.
public struct CompiledDataplane: Sendable {
  public var generation: UInt64
  public var assignment: IndexAssignment
  /// Interfaces by index; nil: a hole.
  public var interfaces: [CompiledInterface?]
  /// Per worker, the interfaces (and RX queues) it polls.
  public var poll: [[PollEntry]]
  /// The highest bridge domain number.
  public var domainCount: Int
  public var l2: [(domain: UInt16, mac: MACAddress, value: UInt32)]
  public var overlay: OverlayConfig
  public var routing: RoutingConfig
  public var external: ExternalConfig
  public var acl = ACLConfig()
  /// Operator flows per interface index, in the order they are tried.
  public var flows: [[FlowEntry]] = []
  /// Filtered port id → the key of its policy (its groups and lists), for revalidating
  /// connections after a change.
  public var policyKeys: [String: String] = [:]

  /// The snapshot workers read, with `port` giving the open port of each interface. A hole
  /// is given the first interface's port with no network (domain 0): never polled, never
  /// a destination, it only keeps the arrays dense.
  public func snapshot(port: (CompiledInterface) -> Port) -> DataplaneSnapshot {
    let present = interfaces.compactMap { $0 }
    var ports: [Port] = []
    var infos: [InterfaceInfo] = []
    if let filler = present.first.map(port) {
      let last = interfaces.lastIndex { $0 != nil }!
      for i in 0...last {
        if let c = interfaces[i] {
          ports.append(port(c))
          infos.append(c.info)
        } else {
          ports.append(filler)
          infos.append(InterfaceInfo(domain: 0, portSecurity: false, mac: .zero))
        }
      }
    }
    return DataplaneSnapshot(generation: generation, ports: ports, interfaces: infos, poll: poll, domains: domainCount, l2: l2,
                             overlay: overlay, routing: routing, external: external, acl: acl,
                             flows: flows)
  }

  /// The index of an interface, when it is present (open).
  public func index(of key: InterfaceKey) -> Int? {
    guard let i = assignment.interfaces[key], i < interfaces.count, interfaces[i] != nil else { return nil }
    return i
  }
}

extension DataplaneCompiler {
  /// The snapshot of a fresh node given `requests`: compiled with `node` and bound to
  /// `ports` (local port id → port, plus "underlay" and "uplink" when `node` has them).
  /// Every local port of the state must have its port in `ports` and counts as open.
  /// `poll`: the interfaces the worker polls (default: all), e.g. only a benchmark's input,
  /// not its sink. For benchmarks, fixtures and tests; gannetd compiles through its transaction.
  public static func snapshot(requests: [ControlRequest], node: NodeFacts, ports: [String: Port], poll: [String]? = nil,
                              generation: UInt64 = 1) throws(ControlError) -> DataplaneSnapshot {
    let s = try ControlState(requests: requests)
    var node = node
    node.openAttachments = Set(s.localAttachments.values)
    var c = try compile(s, node: node, generation: generation)
    if let poll {
      c.poll = [c.assignment.interfaces.index.filter { poll.contains($0.key.portName) }.map(\.value).sorted().map { PollEntry($0) }]
    }
    if let missing = c.interfaces.compactMap({ $0?.key.portName }).first(where: { ports[$0] == nil }) {
      throw ControlError("bad-request", "no port given for interface '\(missing)'")
    }
    return c.snapshot { i in ports[i.key.portName]! }
  }
}

extension InterfaceKey {
  /// "underlay", "uplink" or the port id.
  public var portName: String {
    switch self {
    case .underlay: "underlay"
    case .uplink: "uplink"
    case .port(let id): id
    }
  }
}
