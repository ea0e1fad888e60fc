import Buffers
import Compiler
import Control
import Foundation
import IO
import NodeConfig
import Logging
import Pipeline
import Tables
import Wire

/// The control thread's side of the data plane: the state it was told, the interfaces it
/// opened for local ports, and the snapshot it published to the workers.
///
/// A change is one transaction: validate (pure, `ControlState.applying`) → open new
/// interfaces → compile (pure, `DataplaneCompiler`) → persist the state atomically →
/// publish (RCU; waits for the workers to move on) → adopt the compile's numbering and
/// close interfaces no port uses any more. Nothing the controller keeps (state, index
/// numbering, generation, tunnel baselines, learned MACs, open interfaces) changes before
/// the persist succeeded; a failure before it closes what this change opened and leaves
/// everything as it was: all-or-nothing, and unrelated traffic keeps flowing throughout.
/// This file builds no table: the compiler does.
///
/// Thread safety: every method runs on the control thread (the socket server calls them
/// one request at a time). Workers only read the published snapshots.
final class DataplaneController {
  let config: DaemonConfig
  let log: Logger
  let qsbr: QSBR
  let tables: RCUBox<DataplaneSnapshot>
  private(set) var state = ControlState()
  /// Open interfaces by their port spec text.
  private var open: [String: (spec: PortSpec, port: IO.Port)] = [:]
  /// Ports whose interface could not be opened when the state was restored.
  private var attachErrors: [String: String] = [:]
  private var mbufPool: OpaquePointer?
  /// Every worker's node counters and learning events (set when the workers are created).
  var nodeCounters: [NodeCounters] = []
  /// Every worker's `show runtime` counters and start TSC.
  var runtimeCounters: [(counters: CounterBlock, start: UInt64)] = []
  var eventRings: [EventRing] = []
  var tunnelCounters: [TunnelCounters] = []
  /// Every worker's security counters, and what each rule number and interface index had
  /// counted when it was last given out (`SecurityShow`).
  var aclCounters: [ACLCounters] = []
  var ruleBaselines = CounterBaselines()
  var flowBaselines = CounterBaselines()
  /// Every worker's operator flow hits ([2n] packets, [2n + 1] bytes of flow number n).
  var flowCounters: [CounterBlock] = []
  var interfaceBaselines = CounterBaselines()
  /// The VTEP: underlay port, tunnels, next-hop resolution. nil when not configured.
  private(set) var underlay: Underlay?
  /// The port on the external network. nil when not configured.
  private(set) var uplink: Uplink?
  /// The SNAT connection tables, one per worker (sized by `nat.max_sessions` on a network
  /// node; minimal on a compute node), and the rings between workers. Workers own them; the
  /// control thread only reads them.
  let sessions: WorkerSessions
  /// Security groups' and lists' connection table, shared by every worker; the control
  /// thread expires idle entries and removes those a change no longer admits.
  let conntrack: ConnTrack
  private var conntrackHand = 0
  /// External addresses this node served at the last publish (for gratuitous ARP).
  private var servedExternal: [IPv4Address: MACAddress] = [:]
  private var learning = MACLearning()
  private var lastAging = Date()
  let memoryMode: String
  /// Capture and live trace (the workers share `taps.tap`).
  let taps: TapController
  /// Hits of retired snapshots' table entries, by entry (`dump-flows`).
  let hitTotals = HitTotals()

  init(config: DaemonConfig, log: Logger, mbufPool: OpaquePointer?, memoryMode: String) {
    self.config = config
    self.log = log
    self.mbufPool = mbufPool
    self.memoryMode = memoryMode
    qsbr = QSBR(workers: config.workers)
    sessions = WorkerSessions(capacity: config.role == .network ? config.maxSessions : 1024 * config.workers, workers: config.workers,
                              timeouts: config.natTimeouts)
    conntrack = ConnTrack(capacity: config.maxConnections)
    taps = TapController(tap: PacketTap(workers: config.workers), qsbr: qsbr, workers: config.workers)
    let totals = hitTotals
    tables = RCUBox(DataplaneSnapshot(), qsbr: qsbr, retire: { s in
      totals.absorb?(s)        // its counts are final: every worker passed a quiescent state
      DataplaneSnapshot.retire(s)
    })
    totals.absorb = { [weak self] s in self?.absorbHits(s) }
  }

  // MARK: - changes

  /// Opens the underlay port (when configured) and announces the tunnel IP. At start-up,
  /// before `restore`; an error stops the daemon.
  func attachUnderlay() throws(ControlError) {
    guard let u = config.underlay else { return }
    let vtep = try Underlay(config: u, localIP: config.tunnelIP, workers: config.workers, mbufPool: mbufPool, log: log)
    underlay = vtep
    vtep.announce()
    log.info("underlay attached", metadata: ["interface": "\(u.interface)", "mac": "\(vtep.mac)",
                                             "tunnel_ip": "\(config.tunnelIP)/\(u.prefixLength)"])
  }

  /// Opens the uplink port (when configured). At start-up, before `restore`.
  func attachUplink() throws(ControlError) {
    guard let u = config.uplink else { return }
    let port = try Uplink(config: u, workers: config.workers, mbufPool: mbufPool, log: log)
    uplink = port
    log.info("uplink attached", metadata: ["interface": "\(u.interface)", "mac": "\(port.mac)"])
  }

  /// Summed per-tunnel counters of every worker: rx packets, rx bytes, tx packets, tx bytes.
  func tunnelTotals(_ index: Int) -> [UInt64] {
    tunnelCounters.reduce([0, 0, 0, 0]) { acc, c in zip(acc, c.read(index)).map { $0 &+ $1 } }
  }

  /// Loads the persisted state, opens what it can, and publishes it. A port whose
  /// interface cannot be opened stays configured and shows as down.
  func restore() throws(ControlError) {
    for name in Persistence.removeStaleTemporaries(of: config.stateFile) {
      log.warning("removed \(name), left by an interrupted save")
    }
    guard let saved = try Persistence.load(from: config.stateFile) else { return }
    try checkNodeRules(saved, restoring: true)
    var opened: [String: (spec: PortSpec, port: IO.Port)] = [:]
    for (id, text) in saved.localAttachments.sorted(by: { $0.key < $1.key }) {
      do { opened[text] = try openInterface(text) } catch {
        attachErrors[id] = error.message
        log.error("port \(id): \(error.message)")
      }
    }
    learning.prune(saved)
    let compiled = try compile(saved, open: opened)
    publish(compiled, interfaces: opened)
    open = opened
    state = saved
    announceExternal()
    log.info("restored state", metadata: ["generation": "\(saved.generation)", "networks": "\(saved.networks.count)",
                                         "ports": "\(saved.ports.count)"])
  }

  /// The cloud agent's last report and when it came (control thread).
  private(set) var agent: AgentStatus?
  private(set) var agentReportedAt = Date.distantPast
  func report(_ status: AgentStatus) {
    if agent?.connected != status.connected {
      log.info("cloud agent \(status.connected ? "connected to" : "disconnected from") etcd", metadata: ["revision": "\(status.revision)"])
    }
    agent = status
    agentReportedAt = Date()
  }

  /// Changes committed and refused, and the time the committed ones took (show node, metrics).
  private(set) var commits: UInt64 = 0
  private(set) var commitsRefused: UInt64 = 0
  private(set) var commitNanoseconds: UInt64 = 0

  /// Validates and commits one change request, counting it.
  func commit(_ request: ControlRequest) throws(ControlError) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    do { try apply(request) } catch {
      commitsRefused += 1
      throw error
    }
    commits += 1
    commitNanoseconds += DispatchTime.now().uptimeNanoseconds &- t0
  }

  private func apply(_ request: ControlRequest) throws(ControlError) {
    // Phase times for the log (a cloud agent's program of 100,000 ports takes seconds).
    var phases: [(String, UInt64)] = []
    var mark = DispatchTime.now().uptimeNanoseconds
    func phase(_ name: String) {
      let now = DispatchTime.now().uptimeNanoseconds
      phases.append((name, now &- mark))
      mark = now
    }
    let next = try state.applying(request)
    try checkNodeRules(next)
    phase("validate")
    let wanted = Set(next.localAttachments.values)
    var added: [String: (spec: PortSpec, port: IO.Port)] = [:]
    func rollback() { for (_, a) in added { a.spec.close(a.port) } }
    for text in wanted.sorted() where open[text] == nil {
      do { added[text] = try openInterface(text) } catch {
        rollback()
        throw error
      }
    }
    phase("open")
    let all = open.merging(added) { a, _ in a }
    let kept = all.filter { wanted.contains($0.key) }
    var nextLearning = learning
    nextLearning.prune(next)     // learned MACs of ports this change removes or moves away
    let compiled: CompiledDataplane
    do {
      compiled = try compile(next, open: kept, learned: nextLearning)
      phase("compile")
      try Persistence.save(next, to: config.stateFile)
      phase("persist")
    } catch {
      rollback()
      throw error
    }
    // Durable: from here on the change is the state.
    learning = nextLearning
    publish(compiled, interfaces: kept)
    phase("publish")
    // No published snapshot names the interfaces below any more: close them.
    for (text, a) in all where !wanted.contains(text) { a.spec.close(a.port) }
    open = kept
    attachErrors = attachErrors.filter { next.ports[$0.key] != nil && next.ports[$0.key] == state.ports[$0.key] }
    state = next
    revalidateConnections()
    phase("revalidate")
    underlay?.resolve()   // a new tunnel's next hop: ask now, not at the next tick
    announceExternal()
    uplink?.resolve(upstreamTargets(state))
    phase("announce")
    log.info("committed", metadata: ["generation": "\(next.generation)", "interfaces": "\(open.count)",
                                     "ms": "\(phases.map { "\($0.0)=\($0.1 / 1_000_000)" }.joined(separator: ","))"])
  }

  /// Node-specific rules a state must also meet here: a router's SNAT node is this node or
  /// a known chassis (so a mistyped tunnel IP is refused, not silently black-holed, and a
  /// chassis cannot be deleted while a router names it); no remote port behind this node's
  /// own tunnel IP; and no VM port on a host resource this node already uses — the underlay,
  /// the uplink, or another port's interface under another spelling
  /// (`af-packet:tap0` and `dpdk:net_af_packet0,iface=tap0` are the same interface).
  /// At restore (`restoring`), an unknown SNAT node is logged, not refused: state files
  /// written before this rule must still load.
  func checkNodeRules(_ s: ControlState, restoring: Bool = false) throws(ControlError) {
    if let p = s.ports.values.sorted(by: { $0.id < $1.id }).first(where: { $0.node != nil }) {
      throw .bad("port '\(p.id)': 'node' binds ports in the cloud's state (gannetctl --cloud …), not on a node")
    }
    for r in s.routers.values.sorted(by: { $0.id < $1.id }) {
      guard let g = r.gateway, g.snatNode != config.tunnelIP, !s.chassis.contains(where: { $0.tunnelIP == g.snatNode }) else { continue }
      if restoring {
        log.warning("router '\(r.id)': SNAT node \(g.snatNode) is neither this node nor a known chassis")
        continue
      }
      throw ControlError("conflict", "router '\(r.id)': SNAT node \(g.snatNode) is neither this node (\(config.tunnelIP)) nor a known "
        + "chassis; add it first (gannetctl chassis set --tunnel-ip \(g.snatNode) --dvr-mac …)")
    }
    var taken: [String: String] = [:]
    for (what, text) in [("the underlay", config.underlay?.interface), ("the uplink", config.uplink?.interface)] {
      guard let text, let spec = try? PortSpec(parsing: text) else { continue }
      for r in spec.hostResources { taken[r] = what }
    }
    for p in s.ports.values.sorted(by: { $0.id < $1.id }) {
      switch p.location {
      case .remote(let ip) where ip == config.tunnelIP:
        throw ControlError("conflict", "port '\(p.id)': remote tunnel IP \(ip) is this node's own tunnel IP")
      case .local(let text):
        guard let spec = try? PortSpec(parsing: text) else { continue }    // refused when opened, with the grammar's message
        if spec.singleQueue && config.workers > 1 {
          throw ControlError("conflict", "port '\(p.id)': '\(text)' has one transmit queue; it serves a gannetd with one worker only "
            + "(this one has \(config.workers))")
        }
        for r in spec.hostResources {
          if let user = taken[r] { throw ControlError("conflict", "port '\(p.id)': \(r) is already used by \(user)") }
          taken[r] = "port '\(p.id)'"
        }
      default: break
      }
    }
  }

  private func openInterface(_ text: String) throws(ControlError) -> (spec: PortSpec, port: IO.Port) {
    let spec: PortSpec
    do { spec = try PortSpec(parsing: text) } catch { throw .bad(error.message) }
    if spec.needsDPDK && mbufPool == nil {
      throw ControlError("io", "\(text): DPDK is not enabled in this gannetd's config (dpdk.enabled)")
    }
    do { return (spec, try spec.open(mbufPool: mbufPool, txQueues: config.workers)) } catch {
      throw ControlError("io", error.message)
    }
  }

  /// Control-thread housekeeping, every 200 ms: absorb learning events, age learned MACs,
  /// and publish a new snapshot when either changed the table.
  func tick(now: Date = Date()) {
    var changed = false
    for ring in eventRings {
      let events = ring.drain()
      changed = learning.absorb(events, state: state, numbering: assignment, now: now) || changed
      if let underlay { changed = underlay.absorb(events) || changed }
      if let uplink { changed = uplink.absorb(events, wanted: Set(upstreamTargets(state).keys)) || changed }
    }
    underlay?.resolve(now: now)
    uplink?.resolve(upstreamTargets(state), now: now)
    for a in open.values {
      a.port.collectKernelDrops()
      a.port.refreshQueues()
    }
    underlay?.port.collectKernelDrops()
    uplink?.port.collectKernelDrops()
    expireConnections()
    taps.tick(now: now)
    if now.timeIntervalSince(lastAging) >= 0.5 {
      changed = learning.age(state: state, now: now) || changed
      lastAging = now
    }
    guard changed else { return }
    do { publish(try compile(state, open: open), interfaces: open) } catch {
      log.error("cannot publish learned MACs: \(error)")
    }
  }

  /// The numbering of the published snapshot (the next compile keeps it).
  private(set) var assignment = IndexAssignment()
  /// Snapshot generations count every publish (state changes and learning updates), so
  /// they keep increasing even when the state's own generation does not.
  private var publishedGeneration: UInt64 = 0

  /// This node as the compiler sees it, with `open` the interfaces a snapshot may use.
  func facts(open: [String: (spec: PortSpec, port: IO.Port)], learned: [NodeFacts.LearnedMAC] = []) -> NodeFacts {
    NodeFacts(role: config.role == .network ? .network : .compute, tunnelIP: config.tunnelIP, dvrHostMAC: config.dvrHostMAC,
              underlayMTU: config.underlayMTU, workers: config.workers, underlay: underlay?.facts,
              uplink: uplink.map { NodeFacts.Uplink(mac: $0.mac, mtu: config.uplink?.mtu ?? 1500) },
              openAttachments: Set(open.keys), underlayNeighbors: underlay?.resolved ?? [:],
              upstreamNeighbors: uplink?.resolved ?? [:], learned: learned, maxInterfaces: Worker.defaultMaxPorts)
  }

  /// Compiles `s` as the next snapshot. Pure: changes nothing here.
  private func compile(_ s: ControlState, open: [String: (spec: PortSpec, port: IO.Port)], learned: MACLearning? = nil)
    throws(ControlError) -> CompiledDataplane
  {
    try DataplaneCompiler.compile(s, node: facts(open: open, learned: (learned ?? learning).facts), previous: assignment,
                                  generation: publishedGeneration + 1)
  }

  /// Publishes a compile (RCU) and adopts its numbering. Cannot fail.
  private func publish(_ c: CompiledDataplane, interfaces: [String: (spec: PortSpec, port: IO.Port)]) {
    let snap = c.snapshot { i in
      switch i.key {
      case .underlay: underlay!.port
      case .uplink: uplink!.port
      case .port: interfaces[i.attachment!]!.port
      }
    }
    tables.update { _ in snap }
    publishedGeneration = c.generation
    assignment = c.assignment
    underlay?.adopt(c.assignment.tunnels, generation: c.generation) { tunnelTotals($0) }
    adoptACLBaselines(generation: c.generation)
    flowBaselines.adopt(c.assignment.flows, generation: c.generation, read: flowHits)
  }

  /// This node's facts for derived views (what it serves, hosts, resolves); no learned MACs.
  var node: NodeFacts { facts(open: open) }

  /// A network's MTU on this node: its own, else this node's `underlay_mtu` − 50.
  func mtu(of n: Network) -> Int { node.mtu(of: n) }
  func isSNATNode(_ g: ExternalGateway) -> Bool { node.isSNATNode(g) }
  func servedAddresses(_ s: ControlState) -> [IPv4Address: MACAddress] { node.servedAddresses(s) }
  func upstreamTargets(_ s: ControlState) -> [IPv4Address: IPv4Address] { node.upstreamTargets(s) }

  /// Gratuitous ARP for every address this node started to serve (or now serves with
  /// another MAC) since the last publish.
  private func announceExternal() {
    guard let up = uplink else { return }
    let now = servedAddresses(state)
    for (ip, mac) in now.sorted(by: { $0.key < $1.key }) where servedExternal[ip] != mac { up.announce(ip, mac: mac) }
    servedExternal = now
  }

  /// Removes the tracked connections the published rules no longer admit, right after a
  /// publish (so within the commit).
  private func revalidateConnections() {
    let (interfaceOfZone, fresh) = assignment.zoneInterfaces(at: publishedGeneration)
    ConnTrackMaintenance.revalidate(conntrack, acl: tables.snapshot().acl, interfaceOfZone: interfaceOfZone, freshZones: fresh)
  }

  /// Expires idle connections: a sixteenth of the table per tick (every 200 ms), so the
  /// whole table every 3.2 s.
  private func expireConnections() {
    conntrackHand = ConnTrackMaintenance.expire(conntrack, from: conntrackHand, count: max(conntrack.capacity / 16, 1),
                                                now: NATClock.now(), timeouts: config.conntrackTimeouts)
  }

  /// Closes every interface. At shutdown, after the worker stopped.
  func shutdown() {
    taps.shutdown()
    tables.update { _ in DataplaneSnapshot() }
    for (_, a) in open { a.spec.close(a.port) }
    open = [:]
    underlay?.close()
    underlay = nil
    uplink?.close()
    uplink = nil
  }

  // MARK: - show

  func show(_ what: ControlRequest.ShowWhat) -> ShowReply {
    switch what {
    case .node: .node(showNode())
    case .networks: .networks(showNetworks())
    case .ports: .ports(showPorts())
    case .fdb: .fdb(showFDB())
    case .tunnels: .tunnels(showTunnels())
    case .routers: .routers(showRouters())
    case .routes: .routes(showRoutes())
    case .neighbors: .neighbors(showNeighbors())
    case .counters: .counters(showCounters())
    case .runtime: .runtime(showRuntime())
    case .flows: .flows(showFlows())
    case .drops: .drops(showDrops())
    case .fips: .fips(showFloatingIPs())
    case .gateways: .gateways(showGateways())
    case .nat: .nat(showNAT())
    case .securityGroups: .securityGroups(showSecurityGroups())
    case .securityLists: .securityLists(showSecurityLists())
    case .routeTables: .routeTables(state.routeTableRows)
    case .lpgs: .lpgs(state.lpgRows)
    case .drgs: .drgs(state.drgRows)
    // Configuration only, exactly as persisted: two states can be diffed. Runtime state is
    // in show counters, drops, fdb, gateways, nat, tunnels.
    case .state: .state(state)
    }
  }

  private func showRouters() -> [RouterRow] {
    state.routers.keys.sorted().map { id in
      let r = state.routers[id]!
      return RouterRow(id: id, tenant: r.tenant, vrf: assignment.vrfs[id] ?? -1,
                       interfaces: r.interfaces.map { "\($0.network) \($0.address)/\($0.prefixLength) \($0.mac)" }, routes: r.routes.count)
    }
  }

  /// Every router's routing table: connected subnets and static routes, longest first.
  private func showRoutes() -> [RouteRow] {
    var rows: [RouteRow] = []
    for id in state.routers.keys.sorted() {
      let r = state.routers[id]!
      var entries: [(IPv4Prefix, RouteRow)] = r.interfaces.map {
        ($0.subnet, RouteRow(router: id, prefix: $0.subnet.description, kind: "connected", via: "-", network: $0.network,
                             gateway: $0.address.description))
      }
      for rt in r.routes {
        let net = r.interfaces.first { $0.subnet.contains(rt.nextHop) }?.network ?? "?"
        entries.append((rt.prefix, RouteRow(router: id, prefix: rt.prefix.description, kind: "static", via: rt.nextHop.description, network: net)))
      }
      rows += entries.sorted { ($0.0.length, $0.0.address) > ($1.0.length, $1.0.address) }.map(\.1)
    }
    return rows
  }

  private func showNeighbors() -> [NeighborRow] {
    var rows: [NeighborRow] = []
    for p in state.ports.values.sorted(by: { $0.id < $1.id }) {
      guard let (r, _) = state.routerInterface(of: p.network) else { continue }
      for ip in p.fixedIPs {
        rows.append(NeighborRow(router: r.id, network: p.network, ip: ip.description, mac: p.mac.description, port: p.id,
                                location: p.location.description))
      }
    }
    return rows
  }

  private func showNode() -> NodeReply {
    var r = NodeReply(name: config.name, role: config.role.rawValue, tunnelIP: config.tunnelIP.description, dvrHostMAC: config.dvrHostMAC.description,
              workers: config.workers, underlayMTU: config.underlayMTU, dpdk: config.dpdkEnabled ? "enabled (\(memoryMode))" : "disabled",
              generation: state.generation, publishedGeneration: tables.snapshot().generation, controlProtocol: ControlProtocol.version,
              learnedMACs: learning.entries.count, learningRefusedAtLimit: learning.refusedAtLimit,
              learningEventsLost: eventRings.reduce(0) { $0 + $1.overflows.load(ordering: .relaxed) },
              cores: config.cores.map { $0.map(String.init).joined(separator: ",") } ?? "any", underlay: showUnderlay())
    r.commits = commits
    r.commitsRefused = commitsRefused
    r.commitSeconds = Double(commitNanoseconds) / 1e9
    if var a = agent {
      // An agent that stopped reporting is gone: the program stays, etcd is not followed.
      let age = Date().timeIntervalSince(agentReportedAt)
      if age > AgentStatus.staleAfter {
        a.connected = false
        a.lastError = a.lastError ?? "no report from the agent for \(Int(age)) s"
      }
      r.agent = a
    }
    return r
  }

  private func showUnderlay() -> NodeReply.Underlay {
    var o = NodeReply.Underlay(configured: underlay != nil)
    guard let u = underlay else { return o }
    let c = u.port.counters
    o.interface = u.config.interface
    o.mac = u.mac.description
    o.tunnelIP = "\(u.localIP)/\(u.config.prefixLength)"
    o.gateway = u.config.gateway?.description
    o.mtu = config.underlayMTU
    o.arpRequestsSent = u.requestsSent
    o.rxPackets = c.portTotal(PortCounter.rxPackets)
    o.txPackets = c.portTotal(PortCounter.txPackets)
    o.neighbors = u.neighbors.sorted { $0.key < $1.key }.map { .init(ip: $0.key.description, mac: $0.value.mac.description) }
    return o
  }

  /// One row per tunnel: remote VTEP, underlay next hop and its ARP state, the networks it
  /// carries, and its counters (inner frames, since the tunnel was set up).
  func showTunnels() -> [TunnelRow] {
    guard let u = underlay else { return [] }
    return assignment.tunnels.index.sorted { $0.key < $1.key }.map { remote, index in
      let ports = state.ports.values.filter { $0.location == .remote(remote) }
      // Networks with ports behind the tunnel, and those of routers whose SNAT runs there
      // (their traffic to the internet crosses this tunnel on the VM's network).
      let snatFor = state.routers.values.filter { $0.gateway?.snatNode == remote }
      let networks = Set(ports.map(\.network) + snatFor.flatMap { $0.interfaces.map(\.network) }).sorted()
      let c = u.counters(of: index, now: tunnelTotals(index))
      let mac = u.resolvedMAC(remote)
      return TunnelRow(remote: remote.description, index: index, nextHop: u.nextHop(remote).description, nextHopMAC: mac?.description,
                       state: mac == nil ? "unresolved" : "resolved", networks: networks,
                       vnis: networks.compactMap { state.networks[$0]?.vni }, snatFor: snatFor.map(\.id).sorted(), remotePorts: ports.count,
                       rxPackets: c[0], rxBytes: c[1], txPackets: c[2], txBytes: c[3])
    }
  }

  private func showNetworks() -> [NetworkRow] {
    state.networks.values.sorted { $0.id < $1.id }.map { n in
      NetworkRow(id: n.id, tenant: n.tenant, vni: n.vni, mtu: mtu(of: n), mtuSource: n.mtu == nil ? "underlay_mtu" : "network",
                 learning: n.learning, bridgeDomain: assignment.domains[n.id] ?? 0, ports: state.ports.values.filter { $0.network == n.id }.count)
    }
  }

  private func interfaceOf(_ p: LogicalPort) -> IO.Port? {
    guard case .local(let text) = p.location else { return nil }
    return open[text]?.port
  }

  private func showPorts() -> [PortRow] {
    state.ports.values.sorted { $0.id < $1.id }.map { p in
      var o = PortRow(id: p.id, network: p.network, mac: p.mac.description, fixedIPs: p.fixedIPs.map(\.description),
                      portSecurity: p.portSecurity, status: "remote")
      switch p.location {
      case .local(let s):
        o.local = s
        if let port = interfaceOf(p) {
          o.status = "up"
          o.rxPackets = port.counters.portTotal(PortCounter.rxPackets)
          o.txPackets = port.counters.portTotal(PortCounter.txPackets)
          o.acl = aclPortCounters(p.id)
        } else {
          o.status = "down: " + (attachErrors[p.id] ?? "interface not open")
        }
      case .remote(let ip):
        o.remote = ip.description
      }
      return o
    }
  }

  private func showFDB() -> [FDBRow] {
    func location(_ portID: String) -> String {
      guard let p = state.ports[portID] else { return "?" }
      if case .remote(let ip) = p.location, let n = state.networks[p.network] { return "vxlan \(ip) vni \(n.vni)" }
      return "\(p.location)"
    }
    var rows = state.ports.values.map { FDBRow(network: $0.network, mac: $0.mac.description, port: $0.id, kind: "port", location: location($0.id)) }
    rows += state.fdb.map { FDBRow(network: $0.network, mac: $0.mac.description, port: $0.port, kind: "static", location: location($0.port)) }
    rows += learning.entries.map { k, e in
      FDBRow(network: k.network, mac: k.mac.description, port: e.port, kind: e.stale ? "learned (stale)" : "learned", location: location(e.port))
    }
    return rows.sorted { ($0.network, $0.mac) < ($1.network, $1.mac) }
  }

  private func showRuntime() -> RuntimeReply {
    let now = TSC.now()
    return RuntimeReply(workers: runtimeCounters.enumerated().map { w, r in
      let elapsed = max(now &- r.start, 1), busy = r.counters.read(2)
      let nodes: [CountersReply.Node] = w < nodeCounters.count ? NodeID.allCases.compactMap { n in
        let c = nodeCounters[w], packets = c.packets(n)
        guard packets > 0 else { return nil }
        return .init(node: n.name, vectors: c.vectors(n), packets: packets, cyclesPerPacket: Double(c.cycles(n)) / Double(packets))
      } : []
      return .init(worker: w, core: config.cores?[w], rounds: r.counters.read(0), busyRounds: r.counters.read(1),
                   idleShare: max(0, 1 - Double(busy) / Double(elapsed)), nodes: nodes)
    })
  }

  private func showCounters() -> CountersReply {
    var ports: [CountersReply.Port] = []
    // VM ports by id, then the node's own: "underlay" and "uplink" (as in `show drops`).
    var interfaces = state.ports.values.sorted(by: { $0.id < $1.id }).compactMap { p in interfaceOf(p).map { (p.id, $0) } }
    if let u = underlay { interfaces.append(("underlay", u.port)) }
    if let u = uplink { interfaces.append(("uplink", u.port)) }
    for (name, port) in interfaces {
      let c = port.counters
      ports.append(.init(port: name, interface: port.kind, rxPackets: c.portTotal(PortCounter.rxPackets), rxBytes: c.portTotal(PortCounter.rxBytes),
                         txPackets: c.portTotal(PortCounter.txPackets), txBytes: c.portTotal(PortCounter.txBytes),
                         rxSuperFrames: c.portTotal(PortCounter.rxSuperFrames), txSuperFrames: c.portTotal(PortCounter.txSuperFrames),
                         rxSegments: c.portTotal(PortCounter.rxSegments)))
    }
    var nodes: [CountersReply.Node] = []
    for n in NodeID.allCases {
      let packets = nodeCounters.reduce(0) { $0 + $1.packets(n) }
      guard packets > 0 else { continue }
      let vectors = nodeCounters.reduce(0) { $0 + $1.vectors(n) }, cycles = nodeCounters.reduce(0) { $0 + $1.cycles(n) }
      nodes.append(.init(node: n.name, vectors: vectors, packets: packets, cyclesPerPacket: Double(cycles) / Double(max(packets, 1))))
    }
    return CountersReply(ports: ports, nodes: nodes)
  }

  private func showDrops() -> [DropRow] {
    var rows: [DropRow] = []
    var byNode: [String: (NodeID, DropReason, UInt64)] = [:]
    for nc in nodeCounters {
      for (n, r, c) in nc.allDrops() { byNode["\(n.rawValue)/\(r.rawValue)", default: (n, r, 0)].2 += c }
    }
    for (n, r, c) in byNode.values.sorted(by: { ($0.0.rawValue, $0.1.rawValue) < ($1.0.rawValue, $1.1.rawValue) }) {
      rows.append(DropRow(location: n.name, reason: r.name, code: Int(r.rawValue), count: c, description: r.description))
    }
    var interfaces = state.ports.values.sorted(by: { $0.id < $1.id }).compactMap { p in interfaceOf(p).map { ("port \(p.id)", $0) } }
    if let u = underlay { interfaces.append(("underlay", u.port)) }
    if let u = uplink { interfaces.append(("uplink", u.port)) }
    for (name, port) in interfaces {
      for r in DropReason.allCases where port.counters.drops(r) > 0 {
        rows.append(DropRow(location: name, reason: r.name, code: Int(r.rawValue), count: port.counters.drops(r), description: r.description))
      }
    }
    return rows
  }
}
