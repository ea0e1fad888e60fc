import Compiler
import Control
import Pipeline
import Testing
import Wire

// The compiler alone: stable numbering, determinism, invariants of what it emits, limits.
// No ports, no root: `swift test --filter CompilerTests` runs anywhere.

func mac(_ n: Int) -> MACAddress { MACAddress(0xfa, 0x16, 0x3e, 0, UInt8(n >> 8), UInt8(n & 0xff)) }
func ip(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPv4Address { IPv4Address(a, b, c, d) }

func network(_ id: String, _ vni: UInt32) -> ControlRequest { .networkCreate(Network(id: id, tenant: "t", vni: vni)) }
func port(_ id: String, _ net: String, _ n: Int, ips: [IPv4Address] = [], remote: IPv4Address? = nil, security: Bool = true) -> ControlRequest {
  .portCreate(LogicalPort(id: id, network: net, mac: mac(n), fixedIPs: ips, location: remote.map { .remote($0) } ?? .local("null:\(id)"),
                          portSecurity: security))
}

/// A node with an underlay and an uplink, every local port open.
func node(_ s: ControlState, maxInterfaces: Int = 1024) -> NodeFacts {
  var n = NodeFacts(role: .network, tunnelIP: ip(10, 9, 0, 1), dvrHostMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 1), maxInterfaces: maxInterfaces)
  n.underlay = .init(mac: MACAddress(2, 0, 0, 0, 1, 1), localIP: ip(10, 9, 0, 1), prefixLength: 24)
  n.uplink = .init(mac: MACAddress(2, 0, 0, 0, 2, 1))
  n.openAttachments = Set(s.localAttachments.values)
  return n
}

/// Three networks, a router on two of them with a static route and a gateway, local and remote ports.
let cloud: [ControlRequest] = [
  network("n1", 100), network("n2", 200), network("n3", 300),
  port("a", "n1", 1, ips: [ip(10, 1, 0, 10)]), port("b", "n2", 2, ips: [ip(10, 2, 0, 10)]), port("c", "n3", 3),
  port("r1", "n1", 11, ips: [ip(10, 1, 0, 20)], remote: ip(10, 9, 0, 2)), port("r2", "n2", 12, remote: ip(10, 9, 0, 3)),
  .chassisSet(Chassis(tunnelIP: ip(10, 9, 0, 2), dvrMAC: MACAddress(0xfa, 0x16, 0x3f, 0, 0, 2))),
  .routerCreate(id: "r", tenant: "t"),
  .routerInterfaceAdd(router: "r", RouterInterface(network: "n1", address: ip(10, 1, 0, 1), prefixLength: 24, mac: mac(101))),
  .routerInterfaceAdd(router: "r", RouterInterface(network: "n2", address: ip(10, 2, 0, 1), prefixLength: 24, mac: mac(102))),
  .routerRouteAdd(router: "r", StaticRoute(prefix: IPv4Prefix(ip(172, 16, 0, 0), 12), nextHop: ip(10, 2, 0, 10))),
  .routerGatewaySet(router: "r", ExternalGateway(externalIP: ip(192, 0, 2, 1), prefixLength: 24, upstream: ip(192, 0, 2, 254), mac: mac(200),
                                                 snatNode: ip(10, 9, 0, 1))),
]

@Suite struct CompilerTests {
  @Test func sameInputsGiveTheSameTables() throws {
    let s = try ControlState(requests: cloud)
    let a = try DataplaneCompiler.compile(s, node: node(s), generation: 1)
    let b = try DataplaneCompiler.compile(s, node: node(s), generation: 1)
    #expect(a.assignment == b.assignment)
    #expect(a.l2.map { "\($0)" } == b.l2.map { "\($0)" })
    #expect(a.routing.fib.map { "\(String(describing: $0))" } == b.routing.fib.map { "\(String(describing: $0))" })
    #expect(a.poll == b.poll)
  }

  @Test func everyObjectKeepsItsIndexWhileOthersComeAndGo() throws {
    var s = try ControlState(requests: cloud)
    let first = try DataplaneCompiler.compile(s, node: node(s), generation: 1)
    // Remove things that sort before the survivors, add things that sort before them too.
    for r in [ControlRequest.portDelete(id: "a"), .routerRouteDelete(router: "r", prefix: IPv4Prefix(ip(172, 16, 0, 0), 12)),
              network("m0", 50), port("a0", "m0", 50), .portDelete(id: "r1"), .routerCreate(id: "a-router", tenant: "t")] {
      s = try s.applying(r)
    }
    let second = try DataplaneCompiler.compile(s, node: node(s), previous: first.assignment, generation: 2)
    let a1 = first.assignment, a2 = second.assignment
    for n in ["n1", "n2", "n3"] { #expect(a2.domains[n] == a1.domains[n], "network \(n)") }
    for k in [InterfaceKey.port("b"), .port("c"), .underlay, .uplink] { #expect(a2.interfaces[k] == a1.interfaces[k], "\(k)") }
    #expect(a2.vrfs["r"] == a1.vrfs["r"])
    #expect(a2.tunnels[ip(10, 9, 0, 3)] == a1.tunnels[ip(10, 9, 0, 3)])
    #expect(a2.tunnels[ip(10, 9, 0, 2)] == nil)                    // r1 was its only user
    for k in ["r n1 connected", "r n2 connected", "r external"] { #expect(a2.fib[k] == a1.fib[k], "\(k)") }
    for k in ["r n1", "r n2"] { #expect(a2.routerInterfaces[k] == a1.routerInterfaces[k], "\(k)") }
    // New objects took free indices, recorded with the generation that gave them out.
    let m0 = try #require(a2.domains["m0"])
    #expect(a2.domains.since[m0] == 2 && !a2.domains.current(m0, at: 1))
    let a0 = try #require(a2.interfaces[.port("a0")])
    #expect(a0 == a1.interfaces[.port("a")])                        // a's freed interface, given out again…
    #expect(!a2.interfaces.current(a0, at: 1))                       // …so an event from generation 1 naming it is stale
  }

  @Test func nothingNamesAnInterfaceThatIsNotThere() throws {
    let s = try ControlState(requests: cloud)
    var facts = node(s)
    facts.openAttachments.remove("null:b")                            // b's interface is down
    let c = try DataplaneCompiler.compile(s, node: facts, generation: 1)
    let present = Set(c.interfaces.indices.filter { c.interfaces[$0] != nil })
    #expect(c.index(of: .port("b")) == nil && c.assignment.interfaces[.port("b")] != nil)   // keeps its index, is a hole
    for e in c.l2 where e.value & (L2Value.remote | L2Value.router) == 0 {
      #expect(present.contains(Int(e.value & L2Value.interfaceMask)), "L2 entry \(e.mac) names interface \(e.value & 0xffff)")
    }
    for n in c.routing.neighbors where n.l2 & L2Value.remote == 0 { #expect(present.contains(Int(n.l2 & 0xffff))) }
    #expect(c.routing.neighbors.contains { $0.ip == ip(10, 2, 0, 10) } == false)    // b is down: no neighbour
    let polled = c.poll.flatMap { $0 }.map { Int($0.port) }
    #expect(polled.sorted() == present.sorted())                      // each present interface polled once, holes never
    #expect(c.poll[0].contains(PollEntry(c.index(of: .underlay)!)) && c.poll[0].contains(PollEntry(c.index(of: .uplink)!)))
  }

  /// Two workers: each VM port has one poller, and the underlay and the uplink are shared,
  /// worker w reading their RX queues w, w + 2, … (whoever receives a SNAT packet hands it to
  /// its session's owner).
  @Test func twoWorkersShareTheUnderlayAndTheUplinkByQueue() throws {
    let s = try ControlState(requests: cloud)
    var facts = node(s)
    facts.workers = 2
    let c = try DataplaneCompiler.compile(s, node: facts, generation: 1)
    let shared = [c.index(of: .underlay)!, c.index(of: .uplink)!]
    for w in 0..<2 {
      for i in shared { #expect(c.poll[w].contains(PollEntry(i, firstQueue: w, queueStep: 2))) }
    }
    let ports = c.poll.flatMap { $0 }.filter { !shared.contains(Int($0.port)) }
    #expect(ports.allSatisfy { $0.firstQueue == 0 && $0.queueStep == 1 })
    #expect(Set(ports.map(\.port)).count == ports.count && !ports.isEmpty)      // one poller each
    #expect(c.poll[0].count > 2 && c.poll[1].count > 2)                          // spread over both
  }

  @Test func theNodesLimitsAreCompileErrors() throws {
    let s = try ControlState(requests: cloud)
    #expect(throws: ControlError.self) { try DataplaneCompiler.compile(s, node: node(s, maxInterfaces: 4), generation: 1) }
    do {
      _ = try DataplaneCompiler.compile(s, node: node(s, maxInterfaces: 4), generation: 1)
    } catch {
      #expect(error.code == "conflict" && error.message == "more than 4 local interfaces")
    }
  }

  @Test func aRemovedRouteLeavesAHoleNothingRefersTo() throws {
    var s = try ControlState(requests: cloud)
    let c = try DataplaneCompiler.compile(s, node: node(s), generation: 1)
    let vrf = try #require(c.assignment.vrfs["r"])
    #expect(c.routing.vrfRoutes[vrf].count == 4)                       // two connected, one static, the default to the external network
    let index = try #require(c.assignment.fib["r 172.16.0.0/12"])
    s = try s.applying(.routerRouteDelete(router: "r", prefix: IPv4Prefix(ip(172, 16, 0, 0), 12)))
    let d = try DataplaneCompiler.compile(s, node: node(s), previous: c.assignment, generation: 2)
    #expect(d.assignment.fib["r 172.16.0.0/12"] == nil)
    #expect(index >= d.routing.fib.count || d.routing.fib[index] == nil)
    #expect(d.routing.vrfRoutes[vrf].count == 3 && !d.routing.vrfRoutes[vrf].contains { $0.nextHop == index })
  }
}
