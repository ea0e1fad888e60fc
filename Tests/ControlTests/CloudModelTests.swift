import Cloud
import Control
import Foundation
import Testing
import Wire

/// The cloud's desired state in etcd (`Cloud`): keys and values, what each node is
/// programmed with, refusals by object, and the writer's cloud-only rules.
@Suite struct CloudModelTests {
  static let n1 = NodeRecord(name: "n1", role: "compute", tunnelIP: IPv4Address(10, 9, 0, 1), dvrMAC: MACAddress("fa:16:3f:00:00:11")!)
  // Named out of the tunnel IPs' order on purpose (chassis are kept by tunnel IP).
  static let n2 = NodeRecord(name: "m2", role: "compute", tunnelIP: IPv4Address(10, 9, 0, 2), dvrMAC: MACAddress("fa:16:3f:00:00:12")!)
  static let nn = NodeRecord(name: "nn", role: "network", tunnelIP: IPv4Address(10, 9, 0, 3), dvrMAC: MACAddress("fa:16:3f:00:00:13")!)

  /// The north-south cloud as `gannetctl --cloud` writes it.
  static func cloud() throws -> ControlState {
    var r: [ControlRequest] = []
    for k in 1...2 { r.append(.networkCreate(Network(id: "net-\(k)", tenant: "t", vni: UInt32(100 + k)))) }
    r.append(.routerCreate(id: "r1", tenant: "t"))
    for k in 1...2 {
      r.append(.routerInterfaceAdd(router: "r1", RouterInterface(network: "net-\(k)", address: IPv4Address(10, UInt8(k), 0, 1), prefixLength: 24,
                                                                mac: MACAddress("fa:16:3e:ff:0\(k):00")!)))
    }
    r.append(.routerGatewaySet(router: "r1", ExternalGateway(externalIP: IPv4Address(203, 0, 113, 10), prefixLength: 24, upstream: IPv4Address(203, 0, 113, 1),
                                                           mac: MACAddress("fa:16:3e:ee:00:01")!, snatNode: IPv4Address(10, 9, 0, 3))))
    for (id, net, last, node) in [("a1", 1, 10, "n1"), ("b1", 2, 10, "n1"), ("c2", 1, 20, "m2")] {
      r.append(.portCreate(LogicalPort(id: id, network: "net-\(net)", mac: MACAddress("fa:16:3e:0\(net):00:\(last)")!,
                                       fixedIPs: [IPv4Address(10, UInt8(net), 0, UInt8(last))], location: .local("af-packet:veth-\(id)"),
                                       portSecurity: true, securityGroups: nil, node: node)))
    }
    r.append(.floatingIPCreate(FloatingIP(address: IPv4Address(203, 0, 113, 20), port: "a1")))
    return try ControlState(requests: r)
  }

  static func kvs(_ s: ControlState, nodes: [NodeRecord], alive: [String]) throws -> [EtcdClient.KeyValue] {
    var out = try CloudSnapshot.objects(of: s).map { (k, v) in (CloudKeys.defaultPrefix + k, v) }
    for n in nodes { out.append((CloudKeys.defaultPrefix + "nodes/" + n.name, try JSONEncoder().encode(n))) }
    for a in alive { out.append((CloudKeys.defaultPrefix + "alive/" + a, Data("{}".utf8))) }
    return try out.map { try Self.kv($0.0, $0.1) }
  }
  static func kv(_ key: String, _ value: Data) throws -> EtcdClient.KeyValue {
    let json: [String: Any] = ["key": Data(key.utf8).base64EncodedString(), "value": value.base64EncodedString()]
    return try JSONDecoder().decode(EtcdClient.KeyValue.self, from: JSONSerialization.data(withJSONObject: json))
  }

  @Test func eachNodesProgramPassesTheProtocolsRules() throws {
    let cloud = try Self.cloud()
    let snap = CloudSnapshot(kvs: try Self.kvs(cloud, nodes: [Self.n1, Self.n2, Self.nn], alive: ["n1", "m2", "nn"]), revision: 7)
    #expect(snap.refused.isEmpty)
    #expect(snap.state.ports == cloud.ports && snap.state.routers == cloud.routers)
    for node in ["n1", "m2", "nn"] {
      let p = snap.program(for: node)
      #expect(p.chassis.map(\.tunnelIP.description) == ["10.9.0.1", "10.9.0.2", "10.9.0.3"])
      #expect(p.ports.values.allSatisfy { $0.node == nil })
      let local = p.ports.values.filter { if case .local = $0.location { true } else { false } }.map(\.id).sorted()
      #expect(local == (node == "n1" ? ["a1", "b1"] : node == "m2" ? ["c2"] : []), "\(node)")
      var validated = p
      do { validated = try p.validated() } catch { Issue.record("\(node): \(error.message)") }
      #expect(validated == p)
    }
    #expect(snap.program(for: "nn").ports["c2"]?.location == .remote(IPv4Address(10, 9, 0, 2)))
  }

  /// A later program as a batch of changes: applied to the earlier program it gives the
  /// later one exactly — ports moved, re-addressed, re-created, added and withdrawn with their
  /// floating IPs, chassis coming and going, networks added and removed.
  @Test func theDeltaOfTwoProgramsTurnsOneIntoTheOther() throws {
    let cloud = try Self.cloud()
    let nodes = [Self.n1, Self.n2, Self.nn]
    let before = CloudSnapshot(kvs: try Self.kvs(cloud, nodes: nodes, alive: ["n1", "m2", "nn"]), revision: 1)
    var later = cloud
    later = try later.applying(.portUpdate(id: "c2", location: nil, fixedIPs: [IPv4Address(10, 1, 0, 21)], portSecurity: nil, node: "n1"))
    later = try later.applying(.networkCreate(Network(id: "net-3", tenant: "t", vni: 103)))
    later = try later.applying(.portCreate(LogicalPort(id: "d3", network: "net-3", mac: MACAddress("fa:16:3e:03:00:10")!, fixedIPs: [],
                                                       location: .local("af-packet:veth-d3"), portSecurity: false, node: "m2")))
    later = try later.applying(.floatingIPCreate(FloatingIP(address: IPv4Address(203, 0, 113, 21), port: "c2")))
    later = try later.applying(.floatingIPDisassociate(address: IPv4Address(203, 0, 113, 20)))
    later = try later.applying(.floatingIPAssociate(address: IPv4Address(203, 0, 113, 20), port: "b1", fixedIP: nil))
    let n4 = NodeRecord(name: "n4", role: "compute", tunnelIP: IPv4Address(10, 9, 0, 4), dvrMAC: MACAddress("fa:16:3f:00:00:14")!)
    // n2 (named m2) died: its d3 is withdrawn; n4 joined.
    let after = CloudSnapshot(kvs: try Self.kvs(later, nodes: [Self.n1, Self.nn, n4], alive: ["n1", "nn", "n4"]), revision: 2)
    for node in ["n1", "nn", "n4"] {
      let old = before.program(for: node), new = after.program(for: node)
      guard let delta = old.delta(to: new) else { Issue.record("\(node): no delta"); continue }
      var applied = try old.applying(.batch(delta))
      applied.generation = new.generation
      #expect(applied == new, "\(node): \(delta.map { $0.objectName })")
      #expect(!delta.contains { if case .portCreate(let p) = $0 { p.id == "a1" } else { false } }, "unchanged ports stay")
    }
    // Anything else changing (a router here) is not a delta: the agent replaces the program.
    let rerouted = CloudSnapshot(kvs: try Self.kvs(try cloud.applying(.routerRouteAdd(router: "r1", StaticRoute(prefix: IPv4Prefix("10.50.0.0/16")!,
                                                                                                               nextHop: IPv4Address(10, 1, 0, 20)))),
                                                   nodes: nodes, alive: ["n1", "m2", "nn"]), revision: 3)
    #expect(before.program(for: "n1").delta(to: rerouted.program(for: "n1")) == nil)
    #expect(before.program(for: "n1").delta(to: before.program(for: "n1")) == [])
  }

  /// Objects that cannot be read are left out and named; the rest is read.
  @Test func unreadableObjectsAreRefusedByKey() throws {
    var kvs = try Self.kvs(try Self.cloud(), nodes: [Self.n1], alive: ["n1"])
    kvs.append(try Self.kv("/gannet/objects/ports/junk", Data("{not json".utf8)))
    kvs.append(try Self.kv("/gannet/objects/networks/other", try JSONEncoder().encode(Network(id: "net-1", tenant: "t", vni: 9))))
    kvs.append(try Self.kv("/gannet/objects/gadgets/x", Data("{}".utf8)))
    let snap = CloudSnapshot(kvs: kvs, revision: 1)
    #expect(snap.refused.keys.sorted() == ["objects/gadgets/x", "objects/networks/other", "objects/ports/junk"])
    #expect(snap.refused["objects/networks/other"] == "the object's id 'net-1' differs from its key")
    #expect(snap.state.ports.count == 3 && snap.state.networks.count == 2)
    // Withdrawn: ports of nodes not alive (m2's c2) and floating IPs on them unassociated.
    let p = snap.program(for: "n1")
    #expect(p.ports["c2"] == nil && p.ports["a1"] != nil)
  }

  /// state.replace travels as typed JSON and is read strictly.
  @Test func stateReplaceOnTheWire() throws {
    let s = try Self.cloud().validated()
    var program = s
    for (id, p) in s.ports { program.ports[id]!.node = nil; program.ports[id]!.location = p.node == "n1" ? p.location : .remote(IPv4Address(10, 9, 0, 2)) }
    let r = ControlRequest.stateReplace(program, revision: 42)
    #expect(try ControlRequest.parse(try r.wireLine()) == r)
    var o = try JSONSerialization.jsonObject(with: try r.wireLine()) as! [String: Any]
    o["extra"] = 1
    #expect(throws: ControlError.self) { try ControlRequest.parse(try JSONSerialization.data(withJSONObject: o)) }
    // A node's program never carries node bindings.
    #expect(throws: ControlError.self) { try ControlState().applying(.stateReplace(s, revision: 1)) }
    #expect(try ControlState().applying(.stateReplace(program, revision: 1)).ports == program.ports)
  }
}
