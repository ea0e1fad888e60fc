import ArgumentParser
import Control
import Foundation
import Wire

// MARK: - router

struct RouterCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "router", abstract: "Distributed tenant routers: interfaces, static routes, the routing table.",
    subcommands: [Create.self, Delete.self, InterfaceAdd.self, InterfaceRemove.self, RouteAdd.self, RouteDelete.self,
                  List.self, ShowRoute.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a router (its own VRF).",
                                                    discussion: "Example: gannetctl router create r1 --tenant tenant-a")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Owning tenant.") var tenant: String
    func run() throws { try common.run(try request("router.create", ["id": id, "tenant": tenant]), render: done) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a router.", discussion: "Example: gannetctl router delete r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    func run() throws { try common.run(try request("router.delete", ["id": id]), render: done) }
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
      try common.run(try request("router.interface.add", ["router": id, "network": network, "address": address,
                                                          "mac": mac.description]), render: done)
    }
  }
  struct InterfaceRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "interface-remove", abstract: "Detach a network.",
      discussion: "Example: gannetctl router interface-remove r1 --network net-a")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Network id.") var network: String
    func run() throws { try common.run(try request("router.interface.remove", ["router": id, "network": network]), render: done) }
  }
  struct RouteAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "route-add", abstract: "Add a static route via an address on a connected subnet.",
      discussion: "Example: gannetctl router route-add r1 --prefix 10.9.0.0/16 --next-hop 10.1.0.254")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Destination prefix.") var prefix: String
    @Option(help: "Next-hop IP.") var nextHop: IPv4Address
    func run() throws {
      try common.run(try request("router.route.add", ["router": id, "prefix": prefix, "next_hop": nextHop.description]), render: done)
    }
  }
  struct RouteDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "route-delete", abstract: "Remove a static route.",
      discussion: "Example: gannetctl router route-delete r1 --prefix 10.9.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "Destination prefix.") var prefix: String
    func run() throws { try common.run(try request("router.route.delete", ["router": id, "prefix": prefix]), render: done) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List routers with their interfaces.",
                                                    discussion: "Example: gannetctl router list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.routers)) { r in
        table(r as? [[String: Any]] ?? [], [("id", "ROUTER"), ("tenant", "TENANT"), ("vrf", "VRF"), ("interfaces", "INTERFACES"),
                                             ("routes", "STATIC-ROUTES")])
      }
    }
  }
  struct ShowRoute: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show-route", abstract: "The routing table (VRF) of a router: connected and static routes.",
      discussion: "Example: gannetctl router show-route r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id (all routers when omitted).") var id: String?
    func run() throws {
      try common.run(.show(.routes)) { r in
        let rows = (r as? [[String: Any]] ?? []).filter { id == nil || $0["router"] as? String == id }
        return table(rows, [("router", "ROUTER"), ("prefix", "PREFIX"), ("kind", "KIND"), ("via", "VIA"), ("network", "NETWORK")])
      }
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
    func run() throws {
      try common.run(try request("chassis.set", ["tunnel_ip": tunnelIP.description, "dvr_mac": dvrMAC.description]), render: done)
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Forget a node.", discussion: "Example: gannetctl chassis delete --tunnel-ip 192.0.2.12")
    @OptionGroup var common: Common
    @Option(help: "The node's tunnel IP.") var tunnelIP: IPv4Address
    func run() throws { try common.run(try request("chassis.delete", ["tunnel_ip": tunnelIP.description]), render: done) }
  }
}
