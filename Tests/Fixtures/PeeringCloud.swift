import Control
import Wire

extension Make {
  /// A router with CIDR blocks (a VCN).
  public static func vcn(_ id: String, _ blocks: [IPv4Prefix], tenant: String = "t") -> [ControlRequest] {
    [.routerCreate(id: id, tenant: tenant)] + blocks.map { .peering(.cidrAdd(router: id, $0)) }
  }
  public static func table(_ id: String, router: String, _ rules: [(String, RouteTarget)] = []) -> [ControlRequest] {
    [.peering(.tableCreate(id: id, router: router))]
      + rules.map { .peering(.ruleAdd(table: id, RouteRule(destination: IPv4Prefix($0.0)!, target: $0.1))) }
  }
  public static func lpg(_ id: String, router: String) -> ControlRequest { .peering(.lpgCreate(id: id, router: router)) }
  public static func peer(_ a: String, _ b: String) -> ControlRequest { .peering(.lpgConnect(id: a, peer: b)) }
  public static func associate(_ table: String?, network: String) -> ControlRequest { .peering(.associate(table: table, .network(network))) }
  public static func associate(_ table: String?, lpg: String) -> ControlRequest { .peering(.associate(table: table, .lpg(lpg))) }
}

/// Region 1 of seed 004's DR topology on one node: VCN1 10.10.0.0/16 and VCN2 10.20.0.0/16
/// with a client subnet and a VM each (a: 10.10.1.10, b: 10.20.1.10), HubVCN1 10.11.0.0/16
/// without subnets, and the seed's LPGs (VCN2's named LPG2R/LPG2L): LPG1R–HubLPG1,
/// LPG2R–HubLPG2, LPG1L–LPG2L. VCN1's subnet table sends 10.20.0.0/16 to LPG1L and VCN2's
/// sends 10.10.0.0/16 to LPG2L (direct peering); `viaHub` sends both through the hub
/// instead (LPG1R/LPG2R, and the hub's LPG tables on to the other side: two crossings).
public enum PeeringCloud {
  public static let gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 0x10, 1), gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 0x20, 1)
  public static let macA = MACAddress(0xfa, 0x16, 0x3e, 0x10, 1, 10), macB = MACAddress(0xfa, 0x16, 0x3e, 0x20, 1, 10)
  public static let a = IPv4Address(10, 10, 1, 10), b = IPv4Address(10, 20, 1, 10)

  public static func requests(viaHub: Bool = false) -> [ControlRequest] {
    var r: [ControlRequest] = []
    r += Make.vcn("VCN1", [IPv4Prefix("10.10.0.0/16")!]) + Make.vcn("VCN2", [IPv4Prefix("10.20.0.0/16")!])
      + Make.vcn("HubVCN1", [IPv4Prefix("10.11.0.0/16")!])
    r += [Make.network("vcn1-client", vni: 101), Make.network("vcn2-client", vni: 201),
          Make.interface("VCN1", "vcn1-client", IPv4Address(10, 10, 1, 1), 24, mac: gw1),
          Make.interface("VCN2", "vcn2-client", IPv4Address(10, 20, 1, 1), 24, mac: gw2),
          Make.port("a", on: "vcn1-client", mac: macA, ips: [a]), Make.port("b", on: "vcn2-client", mac: macB, ips: [b])]
    r += ["HubLPG1", "HubLPG2"].map { Make.lpg($0, router: "HubVCN1") } + ["LPG1R", "LPG1L"].map { Make.lpg($0, router: "VCN1") }
      + ["LPG2R", "LPG2L"].map { Make.lpg($0, router: "VCN2") }
    r += [Make.peer("LPG1R", "HubLPG1"), Make.peer("LPG2R", "HubLPG2"), Make.peer("LPG1L", "LPG2L")]
    if viaHub {
      r += Make.table("vcn1-rt", router: "VCN1", [("10.20.0.0/16", .lpg("LPG1R"))])
        + Make.table("vcn2-rt", router: "VCN2", [("10.10.0.0/16", .lpg("LPG2R"))])
        + Make.table("HubLPG1rt", router: "HubVCN1", [("10.20.0.0/16", .lpg("HubLPG2"))])
        + Make.table("HubLPG2rt", router: "HubVCN1", [("10.10.0.0/16", .lpg("HubLPG1"))])
        + [Make.associate("HubLPG1rt", lpg: "HubLPG1"), Make.associate("HubLPG2rt", lpg: "HubLPG2")]
    } else {
      r += Make.table("vcn1-rt", router: "VCN1", [("10.20.0.0/16", .lpg("LPG1L")), ("10.30.0.0/16", .lpg("LPG1R"))])
        + Make.table("vcn2-rt", router: "VCN2", [("10.10.0.0/16", .lpg("LPG2L")), ("10.30.0.0/16", .lpg("LPG2R"))])
    }
    r += [Make.associate("vcn1-rt", network: "vcn1-client"), Make.associate("vcn2-rt", network: "vcn2-client")]
    return r
  }
}
