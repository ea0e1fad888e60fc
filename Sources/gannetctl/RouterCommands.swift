import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - router

struct RouterCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "router", abstract: "Distributed tenant routers: interfaces, static routes, the routing table.",
    subcommands: [Create.self, Delete.self, InterfaceAdd.self, InterfaceRemove.self, RouteAdd.self, RouteDelete.self,
                  CIDRAdd.self, CIDRRemove.self, List.self, ShowRoute.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a router (its own VRF; with CIDR blocks, a VCN).",
      discussion: "Examples: gannetctl router create r1 --tenant tenant-a; gannetctl router create VCN1 --tenant t1 --cidr-block 10.10.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Owning tenant.") var tenant: String
    @Option(help: "A CIDR block (repeatable): subnets must lie inside the blocks.") var cidrBlock: [IPv4Prefix] = []
    func run() throws {
      let create = ControlRequest.routerCreate(id: id, tenant: tenant)
      try common.change(cidrBlock.isEmpty ? create : .batch([create] + cidrBlock.map { .peering(.cidrAdd(router: id, $0)) }))
    }
  }
  struct CIDRAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cidr-add", abstract: "Add a CIDR block (its subnets must lie in the blocks; blocks never overlap).",
      discussion: "Example: gannetctl router cidr-add VCN1 --prefix 10.12.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "The block.") var prefix: IPv4Prefix
    func run() throws { try common.change(.peering(.cidrAdd(router: id, prefix))) }
  }
  struct CIDRRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cidr-remove", abstract: "Remove a CIDR block no subnet lies in.",
      discussion: "Example: gannetctl router cidr-remove VCN1 --prefix 10.12.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "The block.") var prefix: IPv4Prefix
    func run() throws { try common.change(.peering(.cidrRemove(router: id, prefix))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a router.", discussion: "Example: gannetctl router delete r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    func run() throws { try common.change(.routerDelete(id: id)) }
  }
  struct InterfaceAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "interface-add", abstract: "Attach a network: gateway IP with the subnet length, gateway MAC.",
      discussion: "Example: gannetctl router interface-add r1 --network net-a --address 10.1.0.1/24 --mac fa:16:3e:ff:01:00")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Network id.") var network: String
    @Option(help: "Gateway IP and subnet length, e.g. 10.1.0.1/24.") var address: String
    @Option(help: "Gateway MAC (the same on every node).") var mac: MACAddress
    func run() throws {
      guard let (gw, length) = RouterInterface.gateway(address) else {
        throw ValidationError("--address: '\(address)' is not a gateway address with its subnet's length (10.1.0.1/24)")
      }
      try common.change(.routerInterfaceAdd(router: id, RouterInterface(network: network, address: gw, prefixLength: length, mac: mac)))
    }
  }
  struct InterfaceRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "interface-remove", abstract: "Detach a network.",
      discussion: "Example: gannetctl router interface-remove r1 --network net-a")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Network id.") var network: String
    func run() throws { try common.change(.routerInterfaceRemove(router: id, network: network)) }
  }
  struct RouteAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "route-add", abstract: "Add a static route via an address on a connected subnet.",
      discussion: "Example: gannetctl router route-add r1 --prefix 10.9.0.0/16 --next-hop 10.1.0.254")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Destination prefix.") var prefix: IPv4Prefix
    @Option(help: "Next-hop IP.") var nextHop: IPv4Address
    func run() throws { try common.change(.routerRouteAdd(router: id, StaticRoute(prefix: prefix, nextHop: nextHop))) }
  }
  struct RouteDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "route-delete", abstract: "Remove a static route.",
      discussion: "Example: gannetctl router route-delete r1 --prefix 10.9.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Destination prefix.") var prefix: IPv4Prefix
    func run() throws { try common.change(.routerRouteDelete(router: id, prefix: prefix)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List routers with their interfaces.",
                                                    discussion: "Example: gannetctl router list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.routers), as: [RouterRow].self, render: Render.routers)
    }
  }
  struct ShowRoute: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show-route", abstract: "The routing table (VRF) of a router: connected and static routes.",
      discussion: "Example: gannetctl router show-route r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id (all routers when omitted).") var id: String?
    func run() throws {
      try common.run(.show(.routes), as: [RouteRow].self) { Render.routes($0, router: id) }
    }
  }
}

// MARK: - chassis

struct ChassisCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chassis", abstract: "Other nodes' DVR host MACs (frames they route arrive with them as source).",
    subcommands: [Set.self, Delete.self])
  struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record a node's DVR host MAC.", discussion: "Example: gannetctl chassis set --tunnel-ip 192.0.2.12 --dvr-mac fa:16:3f:00:00:12")
    @OptionGroup var common: Common
    @Option(help: "The node's tunnel IP.") var tunnelIP: IPv4Address
    @Option(help: "The node's DVR host MAC.") var dvrMAC: MACAddress
    func run() throws { try common.change(.chassisSet(Chassis(tunnelIP: tunnelIP, dvrMAC: dvrMAC))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Forget a node.", discussion: "Example: gannetctl chassis delete --tunnel-ip 192.0.2.12")
    @OptionGroup var common: Common
    @Option(help: "The node's tunnel IP.") var tunnelIP: IPv4Address
    func run() throws { try common.change(.chassisDelete(tunnelIP: tunnelIP)) }
  }
}
