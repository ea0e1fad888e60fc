import Buffers
import Compiler
import Control
import IO
import Pipeline
import Tables
import Wire

/// "Requests in, packets out": a node built from control requests by the real compiler,
/// its interfaces memory ports, one worker running the real graph on the test's thread.
/// No root, no kernel, no DPDK: a fixture runs anywhere in milliseconds.
///
/// `ports[i]` is the memory port of `names[i]` (a local port id, "underlay" or "uplink"),
/// in the order the test chose; the snapshot's own interface numbering is the compiler's
/// (`index(of:)`).
public struct Rig: ~Copyable {
  public let names: [String]
  public let ports: [MemoryPort]
  public var worker: Worker
  /// Workers 1…, when the rig has more than one (`workers:`); all run on the test's thread,
  /// in turn (`pump`). Memory ports have one queue: worker 0 alone reads a shared port.
  public var others: [Worker] = []
  let handoff: Handoff?
  public private(set) var state: ControlState
  public private(set) var node: NodeFacts
  public private(set) var compiled: CompiledDataplane
  /// Local ports whose interface is down (not open).
  public var down: Set<String>
  let qsbr: QSBR
  let tables: RCUBox<DataplaneSnapshot>

  /// Compiles `requests` for `node` (every local port open unless in `down`) and starts a
  /// worker on it. `names` lists the interfaces the test talks to; each gets a memory port.
  public init(_ requests: [ControlRequest], node: NodeFacts = .testNode, names: [String], down: Set<String> = [],
              poolSize: Int = 1024, sessions: SessionTable? = nil, conntrack: ConnTrack? = nil, workers: Int = 1) throws {
    var node = node
    node.workers = workers
    let state = try ControlState(requests: requests)
    let compiled = try Self.compile(state, node, down, previous: IndexAssignment(), generation: 1)
    let ports = names.map { _ in MemoryPort() }
    self.names = names
    self.ports = ports
    self.down = down
    self.state = state
    self.node = node
    self.compiled = compiled
    let snap = Self.bind(compiled, names: names, ports: ports)
    qsbr = QSBR(workers: workers)
    tables = RCUBox(snap, qsbr: qsbr, retire: DataplaneSnapshot.retire)
    // Several workers: one session table each (like the first), one shared connection table.
    let handoff = workers > 1 ? Handoff(workers: workers) : nil
    let first = sessions ?? SessionTable(capacity: 16)
    let shared = conntrack ?? ConnTrack(capacity: 1024)
    self.handoff = handoff
    worker = Worker(index: 0, tables: tables, maxPorts: 64, poolSize: poolSize, sessions: sessions ?? (workers > 1 ? first : nil),
                    handoff: handoff, conntrack: workers > 1 ? shared : conntrack)
    others = (1..<max(workers, 1)).map { w in
      Worker(index: w, tables: tables, maxPorts: 64, poolSize: poolSize,
             sessions: SessionTable(capacity: first.capacity, timeouts: first.currentTimeouts), handoff: handoff, conntrack: shared)
    }
    for w in 0..<workers { qsbr.online(worker: w) }
  }

  /// Every worker's session table, worker 0's first.
  public var sessionTables: [SessionTable] { [worker.sessions] + others.map(\.sessions) }

  static func compile(_ s: ControlState, _ node: NodeFacts, _ down: Set<String>, previous: IndexAssignment,
                      generation: UInt64) throws(ControlError) -> CompiledDataplane {
    var node = node
    node.openAttachments = Set(s.ports.values.compactMap { p in
      guard case .local(let text) = p.location, !down.contains(p.id) else { return nil }
      return text
    })
    return try DataplaneCompiler.compile(s, node: node, previous: previous, generation: generation)
  }

  static func bind(_ c: CompiledDataplane, names: [String], ports: [MemoryPort]) -> DataplaneSnapshot {
    c.snapshot { i in
      guard let k = names.firstIndex(of: i.key.portName) else {
        fatalError("fixture: interface '\(i.key.portName)' has no memory port; name it in `names`")
      }
      return .memory(ports[k])
    }
  }

  /// The memory port of `name`.
  public func port(_ name: String) -> MemoryPort { ports[names.firstIndex(of: name)!] }

  /// The snapshot interface index of `name` ("underlay", "uplink" or a port id).
  public func index(of name: String) -> Int {
    let key: InterfaceKey = name == "underlay" ? .underlay : name == "uplink" ? .uplink : .port(name)
    return compiled.index(of: key)!
  }

  /// Polls until no port has input left.
  public mutating func pump() {
    var busy = true
    while busy {
      busy = worker.poll() > 0
      for i in others.indices where others[i].poll() > 0 { busy = true }
    }
  }

  /// Commits more requests (and node changes) and publishes the recompiled snapshot, keeping
  /// the numbering as gannetd does.
  public mutating func apply(_ requests: [ControlRequest] = [], node change: (inout NodeFacts) -> Void = { _ in }) throws {
    for r in requests { state = try state.applying(r) }
    change(&node)
    compiled = try Self.compile(state, node, down, previous: compiled.assignment, generation: compiled.generation + 1)
    let snap = Self.bind(compiled, names: names, ports: ports)
    // `update` waits for a grace period and the worker polls on this same thread: it goes
    // offline around the update.
    for w in 0...others.count { qsbr.offline(worker: w) }
    tables.update { _ in snap }
    for w in 0...others.count { qsbr.online(worker: w) }
    revalidate()
  }

  /// What gannetd does right after a publish: removes the tracked connections the new rules
  /// no longer admit. Returns how many.
  @discardableResult
  public func revalidate() -> Int {
    // The first compile gives out every zone; no connection predates it.
    let (interfaceOfZone, given) = compiled.assignment.zoneInterfaces(at: compiled.generation)
    let fresh = compiled.generation > 1 ? given : []
    return ConnTrackMaintenance.revalidate(worker.conntrack, acl: tables.snapshot().acl, interfaceOfZone: interfaceOfZone, freshZones: fresh)
  }

  /// Edges packets took that their node does not declare (`GraphNode.next`; error-drop is
  /// implied by declared drops), as "from -> to". Recorded by debug builds only.
  public var undeclaredEdges: [String] { ([worker] + others).flatMap { Self.undeclaredEdges($0.graph) } }

  /// Drops counted for a reason their node does not declare (`GraphNode.drops`), as "node: reason".
  public var undeclaredDrops: [String] {
    ([worker] + others).flatMap { $0.graph.counters.allDrops() }.compactMap { node, reason, _ in
      GraphNodes.declarations[Int(node.rawValue)].drops.contains(reason) ? nil : "\(node): \(reason.name)"
    }
  }

  public static func undeclaredEdges(_ g: Graph) -> [String] {
    var out: [String] = []
    for from in NodeID.allCases {
      let d = GraphNodes.declarations[Int(from.rawValue)]
      let allowed = Set(d.next + (d.drops.isEmpty ? [] : [.errorDrop]))
      for to in NodeID.allCases where g.observedEdges[Int(from.rawValue)] & (1 << UInt32(to.rawValue)) != 0 && !allowed.contains(to) {
        out.append("\(from) -> \(to)")
      }
    }
    return out
  }

  deinit {
    // Every fixture checks the graph's declarations against what its packets did.
    let edges = undeclaredEdges, drops = undeclaredDrops
    precondition(edges.isEmpty && drops.isEmpty, "graph declarations violated: \(edges + drops)")
    for w in 0...others.count { qsbr.offline(worker: w) }
    worker.destroy()
    for w in others {
      w.destroy()
      w.sessions.destroy()
    }
    handoff?.destroy { _ in }
    for p in ports { p.close() }
  }
}

extension NodeFacts {
  /// A compute node without underlay or uplink (tests add what they need).
  public static let testNode = NodeFacts(tunnelIP: IPv4Address(10, 9, 0, 1), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 1))
}
