import Control
import Pipeline
import Tables
import Wire

/// The one compiler from the cloud model to the data plane: control state + node facts +
/// the previous compile's numbering → every table of a snapshot.
///
/// Pure: no I/O, no clock, no mutation of anything but its result; the same inputs give the
/// same output. It may be called for a change that is then abandoned (validation, persist
/// or publish failed): nothing is committed until the caller keeps its `assignment`.
///
/// Who calls it: gannetd's control thread for every change and every runtime update
/// (learned MACs, resolved neighbours); gannet-bench, the package benchmarks and the tests,
/// from control requests. Any thread (it shares nothing).
public enum DataplaneCompiler {
  /// Compiles `s` for the node `node`, keeping every index of `previous` whose object still
  /// exists. Throws `conflict` when the node's limits (interfaces, tunnels, networks,
  /// routers) would be exceeded.
  public static func compile(_ s: ControlState, node: NodeFacts, previous: IndexAssignment = IndexAssignment(),
                             generation: UInt64) throws(ControlError) -> CompiledDataplane {
    var a = previous
    // Networks, and a bridge domain per DRG attachment (its VNI on the overlay; `CompileDRG`).
    try a.domains.assign(Set(s.networks.keys).union(s.drgAttachments.keys.map(attachmentKey)), generation: generation,
                         limit: Int(UInt16.max) - 1, what: "networks")
    try a.vrfs.assign(Set(s.routers.keys), generation: generation, limit: Int(UInt16.max), what: "routers")
    try a.tunnels.assign(node.underlay == nil ? [] : node.tunnelRemotes(s), generation: generation,
                         limit: OverlayTables.maxTunnels, what: "tunnels")
    var interfaceKeys = Set(s.localAttachments.keys.map(InterfaceKey.port))
    if node.underlay != nil { interfaceKeys.insert(.underlay) }
    if node.uplink != nil { interfaceKeys.insert(.uplink) }
    try a.interfaces.assign(interfaceKeys, generation: generation, limit: node.maxInterfaces, what: "local interfaces")

    var out = CompiledDataplane(generation: generation, assignment: a, interfaces: [], poll: [], domainCount: a.domains.end - 1,
                                l2: [], overlay: OverlayConfig(), routing: RoutingConfig(), external: ExternalConfig())
    compileInterfaces(s, node: node, into: &out)
    try compileSecurity(s, into: &out)
    compileOverlay(s, node: node, into: &out)
    compileL2(s, node: node, into: &out)
    try compileRouting(s, node: node, into: &out)
    try compileFlows(s, into: &out, generation: generation)
    return out
  }

  /// Where frames for a port go: its local interface (when open), its tunnel, or the
  /// `remote` marker (behind another node, no tunnel: counted as unreachable). nil for a
  /// local port whose interface is down (an unknown destination).
  static func target(_ portID: String, _ s: ControlState, _ out: CompiledDataplane) -> UInt32? {
    if let i = out.index(of: .port(portID)) { return L2Value.local(i) | (out.interfaces[i]!.info.filtered ? L2Value.filtered : 0) }
    if case .remote(let ip) = s.ports[portID]?.location {
      if let t = out.assignment.tunnels[ip] { return L2Value.tunnel(t) }
      return L2Value.remote
    }
    return nil
  }

  static func compileInterfaces(_ s: ControlState, node: NodeFacts, into out: inout CompiledDataplane) {
    let a = out.assignment
    var interfaces = [CompiledInterface?](repeating: nil, count: a.interfaces.end)
    for (key, i) in a.interfaces.index {
      switch key {
      case .port(let id):
        guard let p = s.ports[id], case .local(let text) = p.location, node.openAttachments.contains(text),
              let d = a.domains[p.network], let net = s.networks[p.network] else { continue }
        interfaces[i] = CompiledInterface(key: key, attachment: text,
                                          info: InterfaceInfo(domain: UInt16(d), portSecurity: p.portSecurity, mac: p.mac,
                                                              learning: net.learning))
      case .underlay:
        interfaces[i] = CompiledInterface(key: key, attachment: nil, info: InterfaceInfo(domain: 0, portSecurity: false, mac: node.underlay!.mac))
      case .uplink:
        interfaces[i] = CompiledInterface(key: key, attachment: nil, info: InterfaceInfo(domain: 0, portSecurity: false, mac: node.uplink!.mac))
      }
    }
    out.interfaces = interfaces
    // Each port is polled by one worker, spread round-robin. The underlay and the uplink carry
    // every node's and every router's traffic, so every worker polls its share of their RX
    // queues (worker w the queues w, w + W, …; a single-queue device: worker 0 alone). A
    // packet that lands on a worker other than its SNAT session's owner is handed over.
    let shared = [a.interfaces[.underlay], a.interfaces[.uplink]].compactMap { $0 }.sorted()
    let spread = interfaces.indices.filter { interfaces[$0] != nil && !shared.contains($0) }
    let workers = max(node.workers, 1)
    out.poll = (0..<workers).map { w in
      spread.enumerated().filter { $0.offset % workers == w }.map { PollEntry($0.element) }
        + shared.map { PollEntry($0, firstQueue: w, queueStep: workers) }
    }
  }

  static func compileOverlay(_ s: ControlState, node: NodeFacts, into out: inout CompiledDataplane) {
    let a = out.assignment
    var o = OverlayConfig()
    o.underlayMTU = node.underlayMTU
    for (id, n) in s.networks { o.vni[UInt16(a.domains[id]!)] = n.vni }
    for (id, att) in s.drgAttachments { o.vni[UInt16(a.domains[attachmentKey(id)]!)] = att.vni }
    if let u = node.underlay, let i = a.interfaces[.underlay] {
      o.underlayInterface = i
      o.localMAC = u.mac
      o.localIP = u.localIP
      o.tunnels = a.tunnels.index.sorted { $0.value < $1.value }.map {
        .init(index: $0.value, remote: $0.key, nextHopMAC: node.underlayNeighbors[u.nextHop($0.key)])
      }
      for p in s.ports.values.sorted(by: { $0.id < $1.id }) {
        guard case .remote(let ip) = p.location, let t = a.tunnels[ip], let d = a.domains[p.network].map(UInt16.init) else { continue }
        if !(o.domainTunnels[d]?.contains(t) ?? false) { o.domainTunnels[d, default: []].append(t) }
      }
      // Routed frames arrive on the destination network's VNI from any node with a port on
      // one of the router's networks — or of a router peered with it, directly or through
      // others (LPG crossings happen on the source node) — and replies from the router's
      // SNAT node likewise.
      let peered = peeringComponents(s)
      for r in s.routers.values.sorted(by: { $0.id < $1.id }) {
        let nets = Set(r.interfaces.map(\.network))
        let source = Set(s.routers.values.filter { peered[$0.id] == peered[r.id] }.flatMap { $0.interfaces.map(\.network) })
        var tunnels = Set<Int>()
        for p in s.ports.values where source.contains(p.network) {
          if case .remote(let ip) = p.location, let t = a.tunnels[ip] { tunnels.insert(t) }
        }
        if let g = r.gateway, let t = a.tunnels[g.snatNode] { tunnels.insert(t) }
        // Packets from other regions and other VCNs of the DRG come from its gateway node.
        for att in s.drgAttachments.values where att.router.map({ peered[$0] == peered[r.id] }) ?? false {
          if let d = s.drgs[att.drg], let t = a.tunnels[d.gatewayNode] { tunnels.insert(t) }
        }
        for n in nets.sorted() { if let d = a.domains[n] { o.decapOnly[UInt16(d), default: []] += tunnels.sorted() } }
      }
      decapDRG(s, node: node, into: &o, assignment: a)
    }
    // The ARP responder answers for ports whose MAC/IP binding is enforced (port security):
    // behind a port without it the VM may use other MACs, so its ARP is switched as usual.
    for p in s.ports.values.sorted(by: { $0.id < $1.id }) where p.portSecurity {
      guard let d = a.domains[p.network] else { continue }
      for ip in p.fixedIPs { o.arp.append((UInt16(d), ip, p.mac)) }
    }
    out.overlay = o
  }

  /// Routers joined by peered LPGs, directly or through others: the same number for every
  /// router of one component.
  static func peeringComponents(_ s: ControlState) -> [String: Int] {
    var parent = Dictionary(uniqueKeysWithValues: s.routers.keys.sorted().enumerated().map { ($0.element, $0.offset) })
    var up = Array(0..<parent.count)
    func find(_ x: Int) -> Int {
      var x = x
      while up[x] != x { up[x] = up[up[x]]; x = up[x] }
      return x
    }
    for g in s.lpgs.values {
      guard let p = g.peer.flatMap({ s.lpgs[$0] }), let a = parent[g.router], let b = parent[p.router] else { continue }
      up[find(a)] = find(b)
    }
    for (k, v) in parent { parent[k] = find(v) }
    return parent
  }

  static func compileL2(_ s: ControlState, node: NodeFacts, into out: inout CompiledDataplane) {
    let a = out.assignment
    var l2: [(domain: UInt16, mac: MACAddress, value: UInt32)] = []
    // Learned first: a static entry with the same key, added after, replaces it.
    for e in node.learned {
      guard let d = a.domains[e.network], let i = out.index(of: .port(e.port)) else { continue }
      l2.append((UInt16(d), e.mac, L2Value.local(i) | L2Value.learned | (e.stale ? L2Value.stale : 0)))
    }
    for p in s.ports.values.sorted(by: { $0.id < $1.id }) {
      if let t = target(p.id, s, out), let d = a.domains[p.network] { l2.append((UInt16(d), p.mac, t)) }
    }
    for e in s.fdb { if let t = target(e.port, s, out), let d = a.domains[e.network] { l2.append((UInt16(d), e.mac, t)) } }
    out.l2 = l2
  }
}
