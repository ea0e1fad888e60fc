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
}
