import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - route-table

struct RouteTableCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "route-table",
    abstract: "Route tables of a router (a VCN's): rules to next hops, the external gateway or local peering gateways.",
    discussion: """
      A subnet uses its associated table (else the router's main table); an LPG's table routes
      what enters through it (transit). The router's own subnets and CIDR blocks are always local.
      """,
    subcommands: [Create.self, Delete.self, RuleAdd.self, RuleDelete.self, Associate.self, Dissociate.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty route table.",
                                                    discussion: "Example: gannetctl route-table create vcn1-rt --router VCN1")
    @OptionGroup var common: Common
    @Argument(help: "Route table id.") var id: String
    @Option(help: "The router (VCN) it belongs to.") var router: String
    func run() throws { try common.change(.peering(.tableCreate(id: id, router: router))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a route table nothing is associated with.",
                                                    discussion: "Example: gannetctl route-table delete vcn1-rt")
    @OptionGroup var common: Common
    @Argument(help: "Route table id.") var id: String
    func run() throws { try common.change(.peering(.tableDelete(id: id))) }
  }
  struct RuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-add", abstract: "Add a rule: destination CIDR to one target (one rule per destination).",
      discussion: """
        Examples:
          gannetctl route-table rule-add vcn1-rt --destination 10.20.0.0/16 --lpg LPG1L
          gannetctl route-table rule-add vcn1-rt --destination 0.0.0.0/0 --external
          gannetctl route-table rule-add HubLPG1rt --destination 10.30.0.0/16 --drg
          gannetctl route-table rule-add vcn1-rt --destination 192.168.0.0/16 --next-hop 10.10.1.254
        """)
    @OptionGroup var common: Common
    @Argument(help: "Route table id.") var id: String
    @Option(help: "Destination CIDR.") var destination: IPv4Prefix
    @Option(help: "Target: a local peering gateway of the router.") var lpg: String?
    @Option(help: "Target: an address on one of the router's subnets.") var nextHop: IPv4Address?
    @Flag(help: "Target: the router's external gateway.") var external = false
    @Flag(help: "Target: the router's DRG attachment.") var drg = false
    func run() throws {
      let target: RouteTarget
      switch (lpg, nextHop, external, drg) {
      case (let l?, nil, false, false): target = .lpg(l)
      case (nil, let ip?, false, false): target = .nextHop(ip)
      case (nil, nil, true, false): target = .external
      case (nil, nil, false, true): target = .drg
      default: throw ValidationError("give exactly one of --lpg, --next-hop, --external, --drg")
      }
      try common.change(.peering(.ruleAdd(table: id, RouteRule(destination: destination, target: target))))
    }
  }
  struct RuleDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-delete", abstract: "Remove the rule for a destination.",
      discussion: "Example: gannetctl route-table rule-delete vcn1-rt --destination 10.20.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Route table id.") var id: String
    @Option(help: "Destination CIDR.") var destination: IPv4Prefix
    func run() throws { try common.change(.peering(.ruleDelete(table: id, destination: destination))) }
  }
  struct Associate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Use a table for a subnet (its network) or for what enters through an LPG.",
      discussion: """
        Examples:
          gannetctl route-table associate vcn1-rt --network vcn1-client
          gannetctl route-table associate HubLPG1rt --lpg HubLPG1
        """)
    @OptionGroup var common: Common
    @Argument(help: "Route table id.") var id: String
    @Option(help: "A network attached to the table's router.") var network: String?
    @Option(help: "An LPG of the table's router.") var lpg: String?
    func run() throws { try common.change(.peering(.associate(table: id, try subject(network, lpg)))) }
  }
  struct Dissociate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Back to the router's main table (subnet), or no transit table (LPG).",
      discussion: "Example: gannetctl route-table dissociate --network vcn1-client")
    @OptionGroup var common: Common
    @Option(help: "A network attached to a router.") var network: String?
    @Option(help: "An LPG.") var lpg: String?
    func run() throws { try common.change(.peering(.associate(table: nil, try subject(network, lpg)))) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Route tables with their rules and associations.",
                                                    discussion: "Example: gannetctl route-table list")
    @OptionGroup var common: Common
    func run() throws { try common.run(.show(.routeTables), as: [RouteTableRow].self, render: Render.routeTables) }
  }

  static func subject(_ network: String?, _ lpg: String?) throws -> RouteTableSubject {
    switch (network, lpg) {
    case (let n?, nil): return .network(n)
    case (nil, let l?): return .lpg(l)
    default: throw ValidationError("give one of --network or --lpg")
    }
  }
}

// MARK: - lpg

struct LPGCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lpg", abstract: "Local peering gateways: peer two routers (VCNs) of one region, 1:1.",
    subcommands: [Create.self, Delete.self, Accept.self, Connect.self, Disconnect.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an LPG on a router.",
                                                    discussion: "Example: gannetctl lpg create LPG1L --router VCN1")
    @OptionGroup var common: Common
    @Argument(help: "LPG id.") var id: String
    @Option(help: "The router (VCN) it belongs to.") var router: String
    func run() throws { try common.change(.peering(.lpgCreate(id: id, router: router))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an LPG that is neither peered nor a route's target.",
                                                    discussion: "Example: gannetctl lpg delete LPG1L")
    @OptionGroup var common: Common
    @Argument(help: "LPG id.") var id: String
    func run() throws { try common.change(.peering(.lpgDelete(id: id))) }
  }
  struct Accept: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Let an LPG of another tenant connect to this one (--none withdraws).",
      discussion: "Example: gannetctl lpg accept HubLPG1 --peer LPG1R")
    @OptionGroup var common: Common
    @Argument(help: "LPG id.") var id: String
    @Option(help: "The other tenant's LPG.") var peer: String?
    @Flag(help: "Accept none.") var none = false
    func run() throws {
      guard (peer == nil) == none else { throw ValidationError("give one of --peer or --none") }
      try common.change(.peering(.lpgAccept(id: id, peer: peer)))
    }
  }
  struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Peer two LPGs of different routers (their address spaces must not overlap).",
      discussion: "Example: gannetctl lpg connect LPG1R --peer HubLPG1")
    @OptionGroup var common: Common
    @Argument(help: "LPG id.") var id: String
    @Option(help: "The LPG to peer with.") var peer: String
    func run() throws { try common.change(.peering(.lpgConnect(id: id, peer: peer))) }
  }
  struct Disconnect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "End a peering (routes to either side then drop as peering-down).",
      discussion: "Example: gannetctl lpg disconnect LPG1R")
    @OptionGroup var common: Common
    @Argument(help: "LPG id.") var id: String
    func run() throws { try common.change(.peering(.lpgDisconnect(id: id))) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "LPGs with their peers and transit tables.",
                                                    discussion: "Example: gannetctl lpg list")
    @OptionGroup var common: Common
    func run() throws { try common.run(.show(.lpgs), as: [LPGRow].self, render: Render.lpgs) }
  }
}

extension NetworkCommand {
  struct Delegate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delegate a network to a managed service's tenant, whose ports (port create --tenant) may then be placed on it.",
      discussion: "Example: gannetctl network delegate vcn1-client --tenant exadata (or --none)")
    @OptionGroup var common: Common
    @Argument(help: "Network id.") var id: String
    @Option(help: "The tenant it is delegated to.") var tenant: String?
    @Flag(help: "No longer delegated.") var none = false
    func run() throws {
      guard (tenant == nil) == none else { throw ValidationError("give one of --tenant or --none") }
      try common.change(.peering(.delegate(network: id, tenant: tenant)))
    }
  }
}
