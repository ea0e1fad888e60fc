import Control
import ControlText
import Foundation
import Testing
import Wire

/// CIDR blocks, route tables and local peering in the control protocol: wire form,
/// validation with named errors (seed 004's step-16 duplicate among them), what stays in
/// use, state files, and the list texts.
@Suite struct PeeringControlTests {
  static func vcn(_ id: String, _ block: String, tenant: String = "t") -> [ControlRequest] {
    [.routerCreate(id: id, tenant: tenant), .peering(.cidrAdd(router: id, IPv4Prefix(block)!))]
  }
  static let base: [ControlRequest] = vcn("VCN1", "10.10.0.0/16") + vcn("VCN2", "10.20.0.0/16") + vcn("HubVCN1", "10.11.0.0/16")
    + [.networkCreate(Network(id: "vcn1-client", tenant: "t", vni: 101)),
       .routerInterfaceAdd(router: "VCN1", RouterInterface(network: "vcn1-client", address: IPv4Address(10, 10, 1, 1), prefixLength: 24,
                                                           mac: MACAddress("fa:16:3e:ff:10:01")!)),
       .peering(.lpgCreate(id: "LPG1R", router: "VCN1")), .peering(.lpgCreate(id: "LPG1L", router: "VCN1")),
       .peering(.lpgCreate(id: "LPG2L", router: "VCN2")),
       .peering(.lpgCreate(id: "HubLPG1", router: "HubVCN1")), .peering(.lpgCreate(id: "HubLPG2", router: "HubVCN1")),
       .peering(.lpgConnect(id: "LPG1R", peer: "HubLPG1")),
       .peering(.tableCreate(id: "DRG1rt", router: "HubVCN1")), .peering(.tableCreate(id: "vcn1-rt", router: "VCN1"))]

  func refusal(_ s: ControlState, _ r: ControlRequest) -> String {
    do {
      _ = try s.applying(r)
      return "accepted"
    } catch { return "\(error.code): \(error.message)" }
  }
  func rule(_ table: String, _ destination: String, _ target: RouteTarget) -> ControlRequest {
    .peering(.ruleAdd(table: table, RouteRule(destination: IPv4Prefix(destination)!, target: target)))
  }

  @Test func everyChangeRoundTripsOnTheWire() throws {
    let changes: [PeeringChange] = [
      .cidrAdd(router: "r", IPv4Prefix("10.0.0.0/8")!), .cidrRemove(router: "r", IPv4Prefix("10.0.0.0/8")!),
      .tableCreate(id: "t", router: "r"), .tableDelete(id: "t"),
      .ruleAdd(table: "t", RouteRule(destination: IPv4Prefix("10.1.0.0/16")!, target: .lpg("l"))),
      .ruleAdd(table: "t", RouteRule(destination: IPv4Prefix("0.0.0.0/0")!, target: .external)),
      .ruleAdd(table: "t", RouteRule(destination: IPv4Prefix("10.9.0.0/16")!, target: .nextHop(IPv4Address(10, 1, 0, 254)))),
      .ruleDelete(table: "t", destination: IPv4Prefix("10.1.0.0/16")!),
      .associate(table: "t", .network("n")), .associate(table: nil, .lpg("l")),
      .lpgCreate(id: "l", router: "r"), .lpgDelete(id: "l"), .lpgAccept(id: "l", peer: "m"), .lpgAccept(id: "l", peer: nil),
      .lpgConnect(id: "l", peer: "m"), .lpgDisconnect(id: "l"),
    ]
    for c in changes {
      let r = ControlRequest.peering(c)
      #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r)
    }
    #expect(throws: ControlError.self) {
      try ControlRequest.parse(Data(#"{"version": 1, "op": "route_table.rule.add", "args": {"table": "t", "destination": "10.1.0.0/16", "target_type": "gateway"}}"#.utf8))
    }
  }

  /// Seed 004, step 16 writes 10.10.0.0/16 twice (to HubLPG1, then to HubLPG2 where it means
  /// 10.20.0.0/16): the second is refused, naming the first; the corrected rule is taken.
  @Test func theSeedsDuplicateDestinationIsRefusedNamingTheFirstRule() throws {
    var s = try ControlState(requests: Self.base)
    s = try s.applying(rule("DRG1rt", "10.10.0.0/16", .lpg("HubLPG1")))
    #expect(refusal(s, rule("DRG1rt", "10.10.0.0/16", .lpg("HubLPG2")))
      == "conflict: route table 'DRG1rt' already has a rule for 10.10.0.0/16 (to lpg HubLPG1): one rule per destination")
    s = try s.applying(rule("DRG1rt", "10.20.0.0/16", .lpg("HubLPG2")))
    #expect(s.routeTables["DRG1rt"]!.rules.map(\.destination.description) == ["10.10.0.0/16", "10.20.0.0/16"])
  }

  @Test func targetsOwnCIDRsAndOverlapsAreChecked() throws {
    let s = try ControlState(requests: Self.base)
    #expect(refusal(s, rule("DRG1rt", "10.10.0.0/16", .lpg("LPG1L")))
      == "conflict: LPG 'LPG1L' belongs to router 'VCN1', route table 'DRG1rt' to 'HubVCN1'")
    #expect(refusal(s, rule("DRG1rt", "10.10.0.0/16", .lpg("nope"))) == "not-found: no LPG 'nope'")
    #expect(refusal(s, rule("vcn1-rt", "10.10.5.0/24", .lpg("LPG1L")))
      == "conflict: route table 'vcn1-rt': 10.10.5.0/24 lies in router 'VCN1''s own 10.10.0.0/16, which is always local")
    #expect(refusal(s, rule("vcn1-rt", "0.0.0.0/0", .external)) == "conflict: router 'VCN1' has no external gateway")
    #expect(refusal(s, rule("vcn1-rt", "10.99.0.0/16", .nextHop(IPv4Address(10, 10, 2, 5))))
      == "conflict: next hop 10.10.2.5 is on no subnet of router 'VCN1'")
    // Peering overlapping VCNs names both blocks.
    var t = try s.applying(.batch(Self.vcn("VCNX", "10.20.128.0/17") + [.peering(.lpgCreate(id: "LX", router: "VCNX"))]))
    #expect(refusal(t, .peering(.lpgConnect(id: "LX", peer: "LPG2L")))
      == "conflict: router 'VCNX''s 10.20.128.0/17 overlaps router 'VCN2''s 10.20.0.0/16: overlapping networks cannot be peered")
    #expect(refusal(t, .peering(.lpgConnect(id: "LPG1L", peer: "HubLPG1"))) == "conflict: LPG 'HubLPG1' is already peered with 'LPG1R'")
    #expect(refusal(t, .peering(.lpgConnect(id: "LPG1L", peer: "LPG1R")))
      == "bad-request: lpg.connect: 'LPG1L' and 'LPG1R' belong to the same router 'VCN1'")
    // A block added later may not overlap a peer's.
    t = try t.applying(.peering(.lpgConnect(id: "LPG1L", peer: "LPG2L")))
    #expect(refusal(t, .peering(.cidrAdd(router: "VCN1", IPv4Prefix("10.20.0.0/24")!))) == "conflict: router 'VCN1''s 10.20.0.0/24 overlaps router 'VCN2''s 10.20.0.0/16, peered through 'LPG1L'")
    // Subnets lie in the blocks.
    #expect(refusal(s, .batch([.networkCreate(Network(id: "out", tenant: "t", vni: 9)),
                               .routerInterfaceAdd(router: "VCN1", RouterInterface(network: "out", address: IPv4Address(10, 99, 0, 1),
                                                                                   prefixLength: 24, mac: MACAddress("fa:16:3e:ff:99:01")!))]))
      == "conflict: batch.requests[1]: subnet 10.99.0.0/24 of network 'out' lies in no CIDR block of router 'VCN1' (10.10.0.0/16)")
    #expect(refusal(s, .peering(.cidrAdd(router: "VCN1", IPv4Prefix("10.10.128.0/17")!)))
      == "conflict: CIDR block 10.10.128.0/17 overlaps 10.10.0.0/16 of router 'VCN1'")
    #expect(refusal(s, .peering(.cidrRemove(router: "VCN1", IPv4Prefix("10.10.0.0/16")!))) == "accepted",
            "without blocks the subnets are the router's address space")
  }

  @Test func anotherTenantsLPGMustAcceptFirst() throws {
    var s = try ControlState(requests: Self.base + Self.vcn("Other", "10.50.0.0/16", tenant: "u") + [.peering(.lpgCreate(id: "LO", router: "Other"))])
    #expect(refusal(s, .peering(.lpgConnect(id: "LPG1L", peer: "LO")))
      == "forbidden: LPG 'LO' of tenant 'u' does not accept 'LPG1L' (lpg.accept on its side first)")
    s = try s.applying(.peering(.lpgAccept(id: "LO", peer: "LPG1L")))
    #expect(refusal(s, .peering(.lpgConnect(id: "LPG1L", peer: "LO"))) == "accepted")
    // Connected across tenants (named "LO" > "LPG1L" on purpose), with acceptances either
    // way or both: the state loads back through the protocol's rules.
    s = try s.applying(.peering(.lpgConnect(id: "LPG1L", peer: "LO")))
    #expect(try s.validated() == s)
    s = try s.applying(.peering(.lpgAccept(id: "LPG1L", peer: "LO")))
    #expect(try s.validated() == s)
  }

  @Test func whatIsInUseStays() throws {
    var s = try ControlState(requests: Self.base + [rule("vcn1-rt", "10.20.0.0/16", .lpg("LPG1L")),
                                                    .peering(.associate(table: "vcn1-rt", .network("vcn1-client")))])
    #expect(refusal(s, .peering(.lpgDelete(id: "LPG1R"))) == "in-use: LPG 'LPG1R' is peered with 'HubLPG1': disconnect it first")
    #expect(refusal(s, .peering(.lpgDelete(id: "LPG1L"))) == "in-use: route table 'vcn1-rt' sends 10.20.0.0/16 to LPG 'LPG1L'")
    #expect(refusal(s, .peering(.tableDelete(id: "vcn1-rt"))) == "in-use: route table 'vcn1-rt' is associated with network 'vcn1-client'")
    #expect(refusal(s, .routerDelete(id: "HubVCN1")) == "in-use: route table 'DRG1rt' belongs to router 'HubVCN1'")
    #expect(refusal(s, .peering(.associate(table: "DRG1rt", .network("vcn1-client"))))
      == "conflict: route table 'DRG1rt' belongs to router 'HubVCN1', network 'vcn1-client' to 'VCN1'")
    // Disconnecting keeps the routes (they drop as peering-down) and frees both sides.
    s = try s.applying(.peering(.lpgDisconnect(id: "HubLPG1")))
    #expect(s.lpgs["LPG1R"]!.peer == nil && s.lpgs["HubLPG1"]!.peer == nil)
    // State files keep everything.
    let again = try JSONDecoder().decode(ControlState.self, from: try JSONEncoder().encode(s))
    #expect(again == s)
    // … and load through the control protocol's rules (gannetd's restore, the cloud agent).
    #expect(try s.validated() == s)
    // And a state file from before peering loads with none.
    var old = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(ControlState(requests: [.routerCreate(id: "r", tenant: "t")]))) as! [String: Any]
    old["routeTables"] = nil
    old["lpgs"] = nil
    var routers = old["routers"] as! [String: [String: Any]]
    routers["r"]!["cidrBlocks"] = nil
    old["routers"] = routers
    let loaded = try JSONDecoder().decode(ControlState.self, from: try JSONSerialization.data(withJSONObject: old))
    #expect(loaded.routeTables.isEmpty && loaded.lpgs.isEmpty && loaded.routers["r"]!.cidrBlocks.isEmpty)
  }

  @Test func listsReadWell() throws {
    let s = try ControlState(requests: Self.base + [rule("vcn1-rt", "10.20.0.0/16", .lpg("LPG1L")), rule("vcn1-rt", "10.30.0.0/16", .lpg("LPG1R")),
                                                    .peering(.associate(table: "vcn1-rt", .network("vcn1-client")))])
    #expect(Render.routeTables(s.routeTableRows.filter { $0.id == "vcn1-rt" }) == """
      route-table vcn1-rt (router VCN1)
      associated  network 'vcn1-client'
      DESTINATION   TARGET-TYPE  TARGET  STATUS
      10.20.0.0/16  lpg          LPG1L   not peered
      10.30.0.0/16  lpg          LPG1R   peered with HubLPG1

      """)
    #expect(Render.lpgs(s.lpgRows.filter { $0.router == "VCN1" }) == """
      LPG    ROUTER  TENANT  PEER     PEER-ROUTER  ACCEPTS  ROUTE-TABLE
      LPG1L  VCN1    t       -        -            -        -
      LPG1R  VCN1    t       HubLPG1  HubVCN1      -        -

      """)
  }

  /// DRGs and RPCs: one DRG per VCN, VNIs unique, a DRG route needs an attachment, the
  /// peer's routes may not overlap the region's VCNs, attachments in use stay, and every
  /// attachment's table lists static and imported routes with where they come from.
  @Test func drgAttachmentsImportAndAreValidated() throws {
    var s = try ControlState(requests: Self.base + [rule("DRG1rt", "10.10.0.0/16", .lpg("HubLPG1")),
                                                    .drg(.create(DynamicRoutingGateway(id: "DRG1", gatewayNode: IPv4Address(10, 9, 0, 3))))])
    #expect(refusal(s, rule("vcn1-rt", "10.30.0.0/16", .drg)) == "conflict: router 'VCN1' is attached to no DRG")
    s = try s.applying(.drg(.attach(DRGAttachment(id: "hub", drg: "DRG1", vni: 7001, router: "HubVCN1", routeTable: "DRG1rt"))))
    #expect(refusal(s, .drg(.attach(DRGAttachment(id: "again", drg: "DRG1", vni: 7002, router: "HubVCN1"))))
      == "conflict: router 'HubVCN1' is already attached to DRG 'DRG1' ('hub'): one DRG per VCN")
    #expect(refusal(s, .drg(.attach(DRGAttachment(id: "x", drg: "DRG1", vni: 101, router: "VCN1"))))
      == "conflict: VNI 101 of attachment 'x' is used by network 'vcn1-client'")
    #expect(refusal(s, .networkCreate(Network(id: "n9", tenant: "t", vni: 7001))) == "conflict: VNI 7001 is used by attachment 'hub'")
    s = try s.applying(.drg(.attach(DRGAttachment(id: "RPC1", drg: "DRG1", vni: 9001, rpc: true))))
    #expect(refusal(s, .drg(.rpcConnect(id: "RPC1", RemotePeer(gateway: IPv4Address(10, 8, 0, 3), routes: [IPv4Prefix("10.11.128.0/17")!]))))
      == "conflict: the peer's 10.11.128.0/17 overlaps router 'HubVCN1''s 10.11.0.0/16: overlapping networks cannot be peered")
    s = try s.applying(.drg(.rpcConnect(id: "RPC1", RemotePeer(gateway: IPv4Address(10, 8, 0, 3), routes: [IPv4Prefix("10.30.0.0/16")!]))))
    s = try s.applying(.drg(.ruleAdd(attachment: "RPC1", DRGRouteRule(destination: IPv4Prefix("10.10.0.0/16")!, target: "hub"))))
    let rows = s.drgRows
    #expect(rows.map(\.attachment) == ["RPC1", "hub"])
    #expect(rows[0].routes.map { "\($0.destination) \($0.target) \($0.origin)" }
      == ["10.10.0.0/16 hub static", "10.11.0.0/16 hub imported from hub"])
    #expect(rows[1].routes.map { "\($0.destination) \($0.target) \($0.origin)" } == ["10.30.0.0/16 RPC1 imported from RPC1"])
    // A state with DRGs, attachments, a connected RPC, route tables with rules to LPGs and
    // the DRG, and associations loads back through the control protocol's rules.
    var full = try s.applying(.peering(.associate(table: "DRG1rt", .lpg("HubLPG1"))))
    full = try full.applying(.drg(.attach(DRGAttachment(id: "v1", drg: "DRG1", vni: 7003, router: "VCN1", routeTable: "vcn1-rt"))))
    full = try full.applying(rule("vcn1-rt", "10.30.0.0/16", .drg))
    full = try full.applying(.peering(.associate(table: "vcn1-rt", .network("vcn1-client"))))
    #expect(try full.validated() == full)
    #expect(refusal(s, .drg(.detach(id: "RPC1"))) == "in-use: RPC 'RPC1' is connected: disconnect it first")
    #expect(refusal(s, .drg(.detach(id: "hub"))) == "in-use: attachment 'RPC1' routes 10.10.0.0/16 to 'hub'")
    #expect(refusal(s, .routerDelete(id: "HubVCN1")).hasPrefix("in-use: "))
    for c in [DRGChange.create(DynamicRoutingGateway(id: "d", gatewayNode: IPv4Address(10, 0, 0, 1))), .delete(id: "d"),
              .attach(DRGAttachment(id: "a", drg: "d", vni: 5, router: "r", routeTable: "t")), .attach(DRGAttachment(id: "p", drg: "d", vni: 6, rpc: true)),
              .detach(id: "a"), .ruleAdd(attachment: "a", DRGRouteRule(destination: IPv4Prefix("10.0.0.0/8")!, target: "p")),
              .ruleDelete(attachment: "a", destination: IPv4Prefix("10.0.0.0/8")!),
              .rpcConnect(id: "p", RemotePeer(gateway: IPv4Address(10, 8, 0, 3), routes: [IPv4Prefix("10.30.0.0/16")!])), .rpcDisconnect(id: "p")] {
      let r = ControlRequest.drg(c)
      #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r, "\(c)")
    }
  }
}

/// Delegated subnets (seed 004's Azure side): a managed service's tenant may place ports on a
/// network delegated to it; no other tenant can, and a delegation in use stays.
@Suite struct DelegationControlTests {
  @Test func onlyTheDelegatedTenantsPortsArePlaced() throws {
    let mac = MACAddress("fa:16:3e:00:00:07")!
    func port(_ tenant: String?) -> ControlRequest {
      .portCreate(LogicalPort(id: "db", network: "client", mac: mac, fixedIPs: [], location: .remote(IPv4Address(192, 0, 2, 9)),
                              portSecurity: true, securityGroups: nil, tenant: tenant))
    }
    var s = try ControlState(requests: [.networkCreate(Network(id: "client", tenant: "customer", vni: 5))])
    func refusal(_ r: ControlRequest) -> String {
      do { _ = try s.applying(r); return "accepted" } catch { return "\(error.code): \(error.message)" }
    }
    #expect(refusal(port("exadata"))
      == "forbidden: port 'db' of tenant 'exadata': network 'client' of tenant 'customer' is not delegated to it")
    s = try s.applying(.peering(.delegate(network: "client", tenant: "exadata")))
    #expect(refusal(port("other")) == "forbidden: port 'db' of tenant 'other': network 'client' of tenant 'customer' is not delegated to it")
    #expect(refusal(port("customer")) == "accepted" && refusal(port(nil)) == "accepted")
    s = try s.applying(port("exadata"))
    #expect(refusal(.peering(.delegate(network: "client", tenant: nil))) == "in-use: port 'db' of tenant 'exadata' is on network 'client'")
    // The port takes its own tenant's groups, not the network's.
    s = try s.applying(.securityGroupCreate(SecurityGroup(id: "svc", tenant: "exadata")))
    #expect(refusal(.portUpdate(id: "db", location: nil, fixedIPs: nil, portSecurity: nil, securityGroups: ["svc"])) == "accepted")
    for r in [ControlRequest.peering(.delegate(network: "client", tenant: "exadata")), .peering(.delegate(network: "client", tenant: nil)),
              port("exadata")] {
      #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r)
    }
    #expect(try JSONDecoder().decode(ControlState.self, from: try JSONEncoder().encode(s)) == s)
    #expect(try s.validated() == s)
  }
}
