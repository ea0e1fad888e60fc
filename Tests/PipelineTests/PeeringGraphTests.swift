import Buffers
import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import TestSupport
import Wire

// Peered routers on memory ports (issue 16): route tables per subnet, LPG crossings and
// transit through a hub in one pass on the source node, and the drops of a route whose
// peering is gone or that loops. Then the compiled tables against a reference resolver
// written from the object model, on random topologies.

/// A UDP packet from VM a (VCN1) to `to`, sent to VCN1's gateway MAC.
func fromA(to: IPv4Address, ttl: UInt8 = 64) -> [UInt8] {
  var f = udpFrame(dst: PeeringCloud.gw1, src: PeeringCloud.macA, from: PeeringCloud.a, to: to, sport: 40000, length: 100)
  f.withUnsafeMutableBytes { p in
    let ip = IPv4Header(unchecked: p.baseAddress! + 14)
    ip.ttl = ttl
    ip.fillChecksum()
  }
  return f
}

func mac(_ f: [UInt8], _ at: Int) -> MACAddress { MACAddress(f[at], f[at + 1], f[at + 2], f[at + 3], f[at + 4], f[at + 5]) }

@Suite struct PeeringGraphTests {
  /// VCN1 → VCN2 over the direct LPG pair and, in the other topology, through the hub (two
  /// crossings): b receives the packet from VCN2's gateway MAC, TTL one lower (one
  /// decrement for the whole pass), and b's answer comes back the same way.
  @Test(arguments: [false, true]) func aPacketCrossesPeeringsOnTheSourceNode(viaHub: Bool) throws {
    var rig = try Rig(PeeringCloud.requests(viaHub: viaHub), names: ["a", "b"])
    rig.port("a").inject(fromA(to: PeeringCloud.b))
    rig.pump()
    let out = rig.port("b").drainCaptured()
    #expect(out.count == 1, "b got \(out.count) frames; drops \(rig.worker.graph.counters.allDrops())")
    guard let f = out.first else { return }
    #expect(mac(f, 0) == PeeringCloud.macB && mac(f, 6) == PeeringCloud.gw2)
    #expect(f[22] == 63, "TTL \(f[22])")
    // The answer: b → a through VCN2's table.
    var back = udpFrame(dst: PeeringCloud.gw2, src: PeeringCloud.macB, from: PeeringCloud.b, to: PeeringCloud.a, sport: 53, length: 100)
    back.withUnsafeMutableBytes { p in IPv4Header(unchecked: p.baseAddress! + 14).fillChecksum() }
    rig.port("b").inject(back)
    rig.pump()
    let answer = rig.port("a").drainCaptured()
    #expect(answer.count == 1 && answer.first.map { mac($0, 6) } == PeeringCloud.gw1)
    #expect(rig.undeclaredEdges.isEmpty && rig.undeclaredDrops.isEmpty)
  }

  /// Disconnected LPGs: the route remains and its packets are dropped as `peering-down`
  /// with ICMP net unreachable to the sender; an address in VCN2's block on no subnet has no
  /// route; a table pair that sends a destination back and forth is cut as `peering-loop`.
  @Test func peeringDownNoSubnetAndLoopsAreNamedDrops() throws {
    var rig = try Rig(PeeringCloud.requests(), names: ["a", "b"])
    func send(_ to: IPv4Address) -> (delivered: Int, icmp: [UInt8]?) {
      rig.port("a").inject(fromA(to: to))
      rig.pump()
      let back = rig.port("a").drainCaptured().first
      return (rig.port("b").drainCaptured().count, back)
    }
    let counters = rig.worker.graph.counters
    // In VCN2's block, on no subnet.
    var r = send(IPv4Address(10, 20, 99, 9))
    #expect(r.delivered == 0 && counters.drops(.ip4Lookup, .ip4NoRoute) == 1)
    #expect(r.icmp.map { [$0[34], $0[35]] } == [3, 0], "ICMP net unreachable back to a")
    try rig.apply([.peering(.lpgDisconnect(id: "LPG1L"))])
    r = send(PeeringCloud.b)
    #expect(r.delivered == 0 && counters.drops(.ip4Lookup, .peeringDown) == 1)
    #expect(r.icmp.map { [$0[34], $0[35]] } == [3, 0])
    // A loop: VCN1 sends 10.40/16 to the hub, whose HubLPG1 table sends it back to VCN1,
    // whose LPG1R table (the same vcn1-rt) sends it to the hub again.
    try rig.apply(Make.table("HubLPG1rt", router: "HubVCN1", [("10.40.0.0/16", .lpg("HubLPG1"))])
                  + [.peering(.ruleAdd(table: "vcn1-rt", RouteRule(destination: IPv4Prefix("10.40.0.0/16")!, target: .lpg("LPG1R")))),
                     Make.associate("HubLPG1rt", lpg: "HubLPG1"), Make.associate("vcn1-rt", lpg: "LPG1R")])
    r = send(IPv4Address(10, 40, 0, 1))
    #expect(r.delivered == 0 && counters.drops(.ip4Lookup, .peeringLoop) == 1)
    // Peered again: flows.
    try rig.apply([Make.peer("LPG1L", "LPG2L")])
    #expect(send(PeeringCloud.b).delivered == 1)
  }

  /// The compiled lookup tables against a resolver written from the object model, on
  /// random topologies (routers with blocks and subnets, tables with LPG and DRG rules,
  /// random peerings and associations, a DRG on this node or another with VCN attachments,
  /// static rules, imported routes and an RPC, loops included), from the subnets and, on
  /// the gateway node, from the attachments.
  @Test func compiledTablesResolveAsTheModelSays() throws {
    var rng = SplitMix64(seed: 16)
    var kinds = Set<String>()
    for round in 0..<40 {
      var state = try ControlState(requests: randomPeeringTopology(&rng))
      // Random DRG requests: those the control plane refuses (a destination a table has
      // already) are left out.
      for q in randomDRGs(&rng, routers: state.routers.count) { if let next = try? state.applying(q) { state = next } }
      var node = NodeFacts.testNode
      node.openAttachments = []
      // An underlay, so that the tunnels to the DRG's gateway node and the RPC's peer exist.
      node.underlay = .init(mac: MACAddress(0x02, 0, 0, 0, 0, 1), localIP: node.tunnelIP, prefixLength: 16)
      let compiled = try DataplaneCompiler.compile(state, node: node, previous: IndexAssignment(), generation: 1)
      let snap = compiled.snapshot { _ in .memory(MemoryPort()) }
      defer { DataplaneSnapshot.retire(snap) }
      let routing = snap.routing, a = compiled.assignment
      let networkOfInterface = Dictionary(uniqueKeysWithValues: a.routerInterfaces.keys.map { ($0.key, String($0.value.split(separator: " ").last!)) })
      func outcome(_ fib: Int) -> String {
        switch fib {
        case -1: return "no-route"
        case -2: return "loop"
        default:
          switch routing.fibInterface[fib] {
          case RoutingTables.receive: return "receive"
          case RoutingTables.unreachable: return "no-route"
          case RoutingTables.peeringDown: return "peering-down"
          case RoutingTables.external: return "external"
          case let x: return "deliver \(networkOfInterface[Int(x)] ?? "?")"
          }
        }
      }
      func destination() -> IPv4Address { IPv4Address(10, UInt8(rng.next() % 8), UInt8(rng.next() % 4), UInt8(rng.next() % 3)) }
      func note(_ want: String, from r: String?) {
        if want.hasPrefix("deliver att:") { kinds.insert("deliver drg"); return }
        let far = want.hasPrefix("deliver n") && !want.hasPrefix("deliver n\(r.map { String($0.dropFirst()) } ?? "?")-")
        kinds.insert(far ? "deliver across" : String(want.split(separator: " ")[0]))
      }
      for r in state.routers.values.sorted(by: { $0.id < $1.id }) {
        for i in r.interfaces {
          let ri = a.routerInterfaces["\(r.id) \(i.network)"]!
          for _ in 0..<40 {
            let d = destination()
            let got = outcome(routing.resolve(table: Int(routing.interfaces[ri].table), destination: d))
            let want = referenceResolve(state, node: node.tunnelIP, from: .router(r.id, table: i.routeTable), destination: d)
            #expect(got == want, "round \(round): \(d) from \(r.id)/\(i.network): compiled \(got), model \(want)")
            note(want, from: r.id)
          }
        }
      }
      // What arrives at the gateway node from an attachment: its DRG route table.
      for att in state.drgAttachments.values.sorted(by: { $0.id < $1.id }) where state.drgs[att.drg]!.gatewayNode == node.tunnelIP {
        let ai = a.routerInterfaces[attachmentKeyForTests(att.id)]!
        for _ in 0..<40 {
          let d = destination()
          let got = outcome(routing.resolve(table: Int(routing.interfaces[ai].table), destination: d))
          let want = referenceResolve(state, node: node.tunnelIP, from: .attachment(att.id), destination: d)
          #expect(got == want, "round \(round): \(d) from attachment \(att.id): compiled \(got), model \(want)")
          note(want, from: nil)
        }
      }
    }
    #expect(kinds == ["deliver", "deliver across", "deliver drg", "no-route", "loop", "peering-down", "receive"], "covered: \(kinds.sorted())")
  }
}

/// Where a resolution starts: a router's subnet (with its route table; nil: its own
/// subnets and blocks only), or a DRG attachment (its DRG route table, on the gateway node).
enum ResolveFrom { case router(String, table: String?), attachment(String) }

func attachmentKeyForTests(_ id: String) -> String { "att:\(id)" }

/// Resolution as `Peering.swift` and `DRG.swift` (Control) describe it, from the object
/// model alone, on the node with tunnel IP `node`: route tables with LPG crossings; a DRG
/// rule to the DRG (its table on the gateway node, else the attachment towards it); a DRG
/// route table of static rules, then what the other attachments offer in attachment order
/// (a VCN's blocks, or subnets without blocks, and its attachment table's destinations; a
/// connected RPC's peer routes), the first for a destination winning.
func referenceResolve(_ s: ControlState, node: IPv4Address, from start: ResolveFrom, destination d: IPv4Address) -> String {
  var at = start
  for _ in 0...RoutingTables.maxCrossings {
    var best: (length: Int, outcome: String)? = nil
    var next: ResolveFrom? = nil
    func offer(_ p: IPv4Prefix, _ outcome: String, then: ResolveFrom? = nil) {
      if p.contains(d) && p.length > (best?.length ?? -1) {
        best = (p.length, outcome)
        next = then
      }
    }
    switch at {
    case .router(let router, let table):
      let r = s.routers[router]!
      if r.interfaces.contains(where: { $0.address == d }) { return "receive" }
      for b in r.cidrBlocks { offer(b, "no-route") }
      for i in r.interfaces { offer(i.subnet, "deliver \(i.network)") }   // after the blocks: an equal subnet wins
      for rule in table.flatMap({ s.routeTables[$0] })?.rules ?? [] {
        switch rule.target {
        case .lpg(let l):
          if let p = s.lpgs[l]!.peer.flatMap({ s.lpgs[$0] }) {
            offer(rule.destination, "cross", then: .router(p.router, table: p.routeTable))
          } else {
            offer(rule.destination, "peering-down")
          }
        case .drg:
          guard let att = s.drgAttachments.values.first(where: { $0.router == router }) else { offer(rule.destination, "peering-down"); break }
          if s.drgs[att.drg]!.gatewayNode == node {
            offer(rule.destination, "cross", then: .attachment(att.id))
          } else {
            offer(rule.destination, "deliver att:\(att.id)")
          }
        default: break
        }
      }
    case .attachment(let id):
      let att = s.drgAttachments[id]!
      var routes: [(IPv4Prefix, String)] = att.rules.map { ($0.destination, $0.target) }
      for b in s.drgAttachments.values.sorted(by: { $0.id < $1.id }) where b.drg == att.drg && b.id != id {
        var offered: [IPv4Prefix] = []
        if let r = b.router.flatMap({ s.routers[$0] }) {
          offered = (r.cidrBlocks.isEmpty ? r.interfaces.map(\.subnet) : r.cidrBlocks)
            + (b.routeTable.flatMap { s.routeTables[$0] }?.rules.map(\.destination) ?? [])
        } else {
          offered = b.peer?.routes ?? []
        }
        for p in offered where !routes.contains(where: { $0.0 == p }) { routes.append((p, b.id)) }
      }
      for (p, target) in routes where p.contains(d) && p.length > (best?.length ?? -1) {
        let b = s.drgAttachments[target]!
        if let r = b.router {
          offer(p, "cross", then: .router(r, table: b.routeTable))
        } else {
          offer(p, b.peer == nil ? "peering-down" : "deliver att:\(b.id)")
        }
      }
    }
    guard let b = best else { return "no-route" }
    guard b.outcome == "cross", let n = next else { return b.outcome }
    at = n
  }
  return "loop"
}

/// A DRG (half the time on this node, `NodeFacts.testNode`) with some of the routers of
/// `randomPeeringTopology` attached (each with one of its tables or none), an RPC (mostly
/// connected; the peer exports 10.7.0.0/16 and 10.6.1.0/24), random static rules, and
/// route-table rules to the DRG for the other VCNs and the peer's space.
func randomDRGs(_ rng: inout SplitMix64, routers: Int) -> [ControlRequest] {
  guard rng.next() % 4 != 0 else { return [] }
  let gateway = rng.next() % 2 == 0 ? NodeFacts.testNode.tunnelIP : IPv4Address(10, 9, 0, 2)
  var r: [ControlRequest] = [.drg(.create(DynamicRoutingGateway(id: "D", gatewayNode: gateway)))]
  var attachments: [String] = []
  var attached: [Int] = []
  for k in 0..<routers where rng.next() % 3 != 0 {
    let table: String? = rng.next() % 2 == 0 ? "T\(k)-\(rng.next() % 2)" : nil
    r.append(.drg(.attach(DRGAttachment(id: "A\(k)", drg: "D", vni: UInt32(9000 + k), router: "R\(k)", routeTable: table))))
    attachments.append("A\(k)")
    attached.append(k)
  }
  r.append(.drg(.attach(DRGAttachment(id: "P", drg: "D", vni: 9100, rpc: true))))
  if rng.next() % 3 != 0 {
    r.append(.drg(.rpcConnect(id: "P", RemotePeer(gateway: IPv4Address(10, 8, 0, 3), routes: [IPv4Prefix("10.7.0.0/16")!, IPv4Prefix("10.6.1.0/24")!]))))
  }
  attachments.append("P")
  for a in attachments where rng.next() % 2 == 0 {
    let others = attachments.filter { $0 != a }
    for dest in ["10.7.2.0/24", "10.5.0.0/16", "10.\(rng.next() % 5).1.0/24"] where rng.next() % 2 == 0 {
      r.append(.drg(.ruleAdd(attachment: a, DRGRouteRule(destination: IPv4Prefix(dest)!, target: others[Int(rng.next() % UInt64(others.count))]))))
    }
  }
  for k in attached {
    for t in 0..<2 {
      for dest in ["10.7.0.0/16", "10.6.0.0/16", "10.\((k + 1 + Int(rng.next() % UInt64(routers - 1))) % routers).2.0/24"] where rng.next() % 2 == 0 {
        r.append(.peering(.ruleAdd(table: "T\(k)-\(t)", RouteRule(destination: IPv4Prefix(dest)!, target: .drg))))
      }
    }
  }
  return r
}

/// Two to five routers 10.R.0.0/16 with two or three /24 subnets, tables of LPG rules for
/// the others' blocks (and for unused space), LPGs peered at random, random associations.
func randomPeeringTopology(_ rng: inout SplitMix64) -> [ControlRequest] {
  var r: [ControlRequest] = []
  let n = 2 + Int(rng.next() % 4)
  var lpgsOf: [String: [String]] = [:]
  for k in 0..<n {
    let id = "R\(k)"
    r += Make.vcn(id, [IPv4Prefix(IPv4Address(10, UInt8(k), 0, 0), 16)])
    for sub in 0..<(2 + Int(rng.next() % 2)) {
      let net = "n\(k)-\(sub)"
      r += [Make.network(net, vni: UInt32(100 * (k + 1) + sub)),
            Make.interface(id, net, IPv4Address(10, UInt8(k), UInt8(sub), 1), 24, mac: MACAddress(0xfa, 0x16, 0x3e, 0xfe, UInt8(k), UInt8(sub)))]
    }
    for g in 0..<3 {
      let l = "L\(k)-\(g)"
      r.append(Make.lpg(l, router: id))
      lpgsOf[id, default: []].append(l)
    }
  }
  // Peerings: each LPG at most once, between different routers.
  var free = lpgsOf.values.flatMap { $0 }.sorted()
  while free.count >= 2 {
    let x = free.remove(at: Int(rng.next() % UInt64(free.count)))
    guard let yi = free.indices.filter({ !free[$0].hasPrefix(String(x.prefix(while: { $0 != "-" })) + "-") }).randomElement(using: &rng)
    else { continue }
    let y = free.remove(at: yi)
    if rng.next() % 4 != 0 { r.append(Make.peer(x, y)) }
  }
  for k in 0..<n {
    let id = "R\(k)"
    for t in 0..<2 {
      let table = "T\(k)-\(t)"
      var rules: [(String, RouteTarget)] = []
      for other in 0..<6 where other != k && rng.next() % 3 != 0 {
        let prefix = rng.next() % 2 == 0 ? "10.\(other).0.0/16" : "10.\(other).\(rng.next() % 4).0/24"
        rules.append((prefix, .lpg(lpgsOf[id]![Int(rng.next() % 3)])))
      }
      r += Make.table(table, router: id, rules)
      for sub in 0..<2 where rng.next() % 2 == 0 { r.append(Make.associate(table, network: "n\(k)-\(sub)")) }
      for l in lpgsOf[id]! where rng.next() % 3 == 0 { r.append(Make.associate(table, lpg: l)) }
    }
  }
  return r
}
