import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - drg

struct DRGCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drg",
    abstract: "Dynamic routing gateways: a region's gateway between VCNs and to other regions (runs on one gateway node).",
    subcommands: [Create.self, Delete.self, Attach.self, Detach.self, RuleAdd.self, RuleDelete.self, Show.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a DRG run by a gateway node (role network) of this region.",
                                                    discussion: "Example: gannetctl drg create DRG1 --gateway-node 10.9.0.3")
    @OptionGroup var common: Common
    @Argument(help: "DRG id.") var id: String
    @Option(help: "Tunnel IP of the node that runs it.") var gatewayNode: IPv4Address
    func run() throws { try common.change(.drg(.create(DynamicRoutingGateway(id: id, gatewayNode: gatewayNode)))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a DRG without attachments.", discussion: "Example: gannetctl drg delete DRG1")
    @OptionGroup var common: Common
    @Argument(help: "DRG id.") var id: String
    func run() throws { try common.change(.drg(.delete(id: id))) }
  }
  struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Attach a VCN (one DRG per VCN), with the VCN route table for what enters it from the DRG.",
      discussion: "Example: gannetctl drg attach DRG1 --id hub1-att --router HubVCN1 --vni 7001 --route-table DRG1rt")
    @OptionGroup var common: Common
    @Argument(help: "DRG id.") var drg: String
    @Option(help: "Attachment id.") var id: String
    @Option(help: "The router (VCN).") var router: String
    @Option(help: "Overlay VNI of packets to the DRG from this VCN's nodes.") var vni: UInt32
    @Option(help: "The VCN's route table for traffic entering it from the DRG (transit).") var routeTable: String?
    func run() throws {
      try common.change(.drg(.attach(DRGAttachment(id: id, drg: drg, vni: vni, router: router, routeTable: routeTable))))
    }
  }
  struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove an attachment nothing routes to.",
                                                    discussion: "Example: gannetctl drg detach hub1-att")
    @OptionGroup var common: Common
    @Argument(help: "Attachment id.") var id: String
    func run() throws { try common.change(.drg(.detach(id: id))) }
  }
  struct RuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-add", abstract: "A static rule in an attachment's DRG route table (wins over imported routes).",
      discussion: "Example: gannetctl drg rule-add --attachment RPC1 --destination 10.10.0.0/16 --target hub1-att")
    @OptionGroup var common: Common
    @Option(help: "The attachment whose table it is.") var attachment: String
    @Option(help: "Destination CIDR.") var destination: IPv4Prefix
    @Option(help: "The attachment packets go to.") var target: String
    func run() throws { try common.change(.drg(.ruleAdd(attachment: attachment, DRGRouteRule(destination: destination, target: target)))) }
  }
  struct RuleDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-delete", abstract: "Remove a static rule.",
      discussion: "Example: gannetctl drg rule-delete --attachment RPC1 --destination 10.10.0.0/16")
    @OptionGroup var common: Common
    @Option(help: "The attachment whose table it is.") var attachment: String
    @Option(help: "Destination CIDR.") var destination: IPv4Prefix
    func run() throws { try common.change(.drg(.ruleDelete(attachment: attachment, destination: destination))) }
  }
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Attachments with their DRG route tables: static routes and the routes imported from where.",
      discussion: "Example: gannetctl drg show DRG1")
    @OptionGroup var common: Common
    @Argument(help: "DRG id (all when omitted).") var id: String?
    func run() throws {
      try common.run(.show(.drgs), as: [DRGAttachmentRow].self) { Render.drgs($0.filter { id == nil || $0.drg == id }) }
    }
  }
}

// MARK: - rpc

struct RPCCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rpc", abstract: "Remote peering connections: a DRG's link to a DRG of another region, over the backbone.",
    subcommands: [Create.self, Delete.self, Connect.self, Disconnect.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create an RPC on a DRG; the VNI is the same on both regions' sides.",
      discussion: "Example: gannetctl rpc create RPC1 --drg DRG1 --vni 9001")
    @OptionGroup var common: Common
    @Argument(help: "RPC id.") var id: String
    @Option(help: "DRG id.") var drg: String
    @Option(help: "Overlay VNI between the two gateway nodes.") var vni: UInt32
    func run() throws { try common.change(.drg(.attach(DRGAttachment(id: id, drg: drg, vni: vni, rpc: true)))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an RPC that is not connected.", discussion: "Example: gannetctl rpc delete RPC1")
    @OptionGroup var common: Common
    @Argument(help: "RPC id.") var id: String
    func run() throws { try common.change(.drg(.detach(id: id))) }
  }
  struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Connect to the peer region's gateway node, with the routes its DRG exports (as its operator states them).",
      discussion: "Example: gannetctl rpc connect RPC1 --peer-gateway 10.8.0.3 --peer-route 10.30.0.0/16 --peer-route 10.33.0.0/16")
    @OptionGroup var common: Common
    @Argument(help: "RPC id.") var id: String
    @Option(help: "The peer region's gateway node (tunnel IP over the backbone).") var peerGateway: IPv4Address
    @Option(help: "A destination the peer DRG exports (repeatable).") var peerRoute: [IPv4Prefix] = []
    func run() throws { try common.change(.drg(.rpcConnect(id: id, RemotePeer(gateway: peerGateway, routes: peerRoute)))) }
  }
  struct Disconnect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Disconnect (routes through it then drop as peering-down).", discussion: "Example: gannetctl rpc disconnect RPC1")
    @OptionGroup var common: Common
    @Argument(help: "RPC id.") var id: String
    func run() throws { try common.change(.drg(.rpcDisconnect(id: id))) }
  }
}
