import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - security groups

/// What a rule matches, as options shared by `sg rule-add` and `seclist rule-add`.
struct MatchOptions: ParsableArguments {
  @Option(name: .customLong("protocol"), help: "any, tcp, udp, icmp or an IP protocol number.") var proto = "any"
  @Option(help: "Destination port or range (tcp/udp): 22 or 1000-2000.") var port: String?
  @Option(help: "ICMP type (icmp).") var icmpType: Int?
  @Option(help: "ICMP code (icmp, with --icmp-type).") var icmpCode: Int?

  static func range(_ text: String, _ what: String) throws -> (Int, Int) {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let lo = Int(parts[0]), let hi = Int(parts.last!) else {
      throw ValidationError("\(what): '\(text)' is not a port or LOW-HIGH")
    }
    return (lo, hi)
  }

  func match(sourcePort: String? = nil) throws -> L4Match {
    guard let p = L4Match.proto(proto) else { throw ValidationError("--protocol: '\(proto)' is not any, tcp, udp, icmp or 0-255") }
    var m = L4Match(proto: p, icmpType: icmpType, icmpCode: icmpCode)
    if let port { (m.portMin, m.portMax) = try Self.range(port, "--port") }
    if let sourcePort { (m.sourcePortMin, m.sourcePortMax) = try Self.range(sourcePort, "--source-port") }
    return m
  }
}

extension TrafficDirection: ExpressibleByArgument {}

struct SecurityGroupCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sg", abstract: "Security groups: stateful allow rules on the ports in them (Neutron).",
    subcommands: [Create.self, Delete.self, RuleAdd.self, RuleDelete.self, List.self, Show.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a group (named 'default': a tenant's new ports that name no group get it).",
      discussion: "Example: gannetctl sg create web --tenant tenant-a")
    @OptionGroup var common: Common
    @Argument(help: "Group id.") var id: String
    @Option(help: "Owning tenant.") var tenant: String
    @Option(help: "Name (default: the id).") var name: String?
    func run() throws { try common.change(.securityGroupCreate(SecurityGroup(id: id, tenant: tenant, name: name))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a group no port uses.", discussion: "Example: gannetctl sg delete web")
    @OptionGroup var common: Common
    @Argument(help: "Group id.") var id: String
    func run() throws { try common.change(.securityGroupDelete(id: id)) }
  }
  struct RuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-add", abstract: "Allow traffic in or out of the group's ports (and its replies).",
      discussion: """
        Examples: gannetctl sg rule-add web --id ssh --direction ingress --protocol tcp --port 22 --remote-cidr 10.0.0.0/8
                  gannetctl sg rule-add web --id from-app --direction ingress --protocol tcp --port 8080 --remote-group app
                  gannetctl sg rule-add web --id out --direction egress
        """)
    @OptionGroup var common: Common
    @Argument(help: "Group id.") var group: String
    @Option(help: "Rule id.") var id: String
    @Option(help: "ingress (to the VM) or egress (from it).") var direction: TrafficDirection
    @OptionGroup var match: MatchOptions
    @Option(help: "Remote addresses (default: any).") var remoteCIDR: IPv4Prefix?
    @Option(help: "Remote group: the fixed IPs of its ports.") var remoteGroup: String?
    func run() throws {
      try common.change(.securityGroupRuleAdd(group: group, SecurityGroupRule(id: id, direction: direction, match: try match.match(),
                                                                              remoteCIDR: remoteCIDR, remoteGroup: remoteGroup)))
    }
  }
  struct RuleDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-delete", abstract: "Remove a rule; connections it admitted stop at once.",
      discussion: "Example: gannetctl sg rule-delete web --id ssh")
    @OptionGroup var common: Common
    @Argument(help: "Group id.") var group: String
    @Option(help: "Rule id.") var id: String
    func run() throws { try common.change(.securityGroupRuleDelete(group: group, rule: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List groups.", discussion: "Example: gannetctl sg list")
    @OptionGroup var common: Common
    func run() throws { try common.run(.show(.securityGroups), as: [SecurityGroupRow].self, render: Render.securityGroups) }
  }
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A group's rules with their hits, and its ports.",
                                                    discussion: "Example: gannetctl sg show web")
    @OptionGroup var common: Common
    @Argument(help: "Group id.") var id: String
    func run() throws {
      try common.run(.show(.securityGroups), as: [SecurityGroupRow].self) { rows in
        rows.first { $0.id == id }.map(Render.securityGroup) ?? "no security group '\(id)'\n"
      }
    }
  }
}

// MARK: - security lists

struct SecurityListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "seclist", abstract: "Security lists: rules for every port of the networks that list them (OCI).",
    subcommands: [Create.self, Delete.self, RuleAdd.self, RuleDelete.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a list.", discussion: "Example: gannetctl seclist create db-list --tenant t")
    @OptionGroup var common: Common
    @Argument(help: "List id.") var id: String
    @Option(help: "Owning tenant.") var tenant: String
    func run() throws { try common.change(.securityListCreate(SecurityList(id: id, tenant: tenant))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a list no network uses.", discussion: "Example: gannetctl seclist delete db-list")
    @OptionGroup var common: Common
    @Argument(help: "List id.") var id: String
    func run() throws { try common.change(.securityListDelete(id: id)) }
  }
  struct RuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-add", abstract: "Add a rule: stateful (replies pass) or --stateless (replies need their own rule).",
      discussion: "Example: gannetctl seclist rule-add db-list --id oracle --direction ingress --cidr 10.20.0.0/16 --protocol tcp --port 1521")
    @OptionGroup var common: Common
    @Argument(help: "List id.") var list: String
    @Option(help: "Rule id.") var id: String
    @Option(help: "ingress (to the VMs) or egress (from them).") var direction: TrafficDirection
    @Flag(help: "Stateless: nothing is tracked; wins over stateful rules that match too.") var stateless = false
    @Option(help: "Source CIDR (ingress) or destination CIDR (egress).") var cidr: IPv4Prefix
    @OptionGroup var match: MatchOptions
    @Option(help: "Source port or range (tcp/udp).") var sourcePort: String?
    func run() throws {
      try common.change(.securityListRuleAdd(list: list, SecurityListRule(id: id, direction: direction, stateless: stateless, cidr: cidr,
                                                                          match: try match.match(sourcePort: sourcePort))))
    }
  }
  struct RuleDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rule-delete", abstract: "Remove a rule.", discussion: "Example: gannetctl seclist rule-delete db-list --id oracle")
    @OptionGroup var common: Common
    @Argument(help: "List id.") var list: String
    @Option(help: "Rule id.") var id: String
    func run() throws { try common.change(.securityListRuleDelete(list: list, rule: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every list with its networks and rules (with hits).",
                                                    discussion: "Example: gannetctl seclist list")
    @OptionGroup var common: Common
    func run() throws { try common.run(.show(.securityLists), as: [SecurityListRow].self, render: Render.securityLists) }
  }
}

// MARK: - conntrack

struct ConntrackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "conntrack", abstract: "Connections tracked for security groups and lists (in the spirit of conntrack -L).",
    subcommands: [List.self, Count.self, Flush.self])

  struct Filter: ParsableArguments {
    @Option(help: "Only this port's connections.") var port: String?
    @Option(name: .customLong("proto"), help: "tcp, udp, icmp or a protocol number.") var proto: String?
    func filter(limit: Int = 1000) throws -> ConntrackFilter {
      var f = ConntrackFilter(port: port, limit: limit)
      if let proto {
        guard let p = L4Match.proto(proto), let n = p else { throw ValidationError("--proto: '\(proto)' is not tcp, udp, icmp or 0-255") }
        f.proto = n
      }
      return f
    }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List tracked connections.",
                                                    discussion: "Example: gannetctl conntrack list --port web-1 --proto tcp")
    @OptionGroup var common: Common
    @OptionGroup var filter: Filter
    @Option(help: "At most this many rows.") var limit = 1000
    func run() throws { try common.run(.showConntrack(try filter.filter(limit: limit)), as: ConntrackReply.self, render: Render.conntrack) }
  }
  struct Count: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count tracked connections, and the table's counters.",
                                                    discussion: "Example: gannetctl conntrack count --proto udp")
    @OptionGroup var common: Common
    @OptionGroup var filter: Filter
    func run() throws { try common.run(.showConntrack(try filter.filter(limit: 1)), as: ConntrackReply.self, render: Render.conntrackCount) }
  }
  struct Flush: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Forget tracked connections (their next packets are classified again).",
                                                    discussion: "Example: gannetctl conntrack flush --port web-1")
    @OptionGroup var common: Common
    @OptionGroup var filter: Filter
    func run() throws { try common.run(.conntrackFlush(try filter.filter()), as: ConntrackReply.self, render: Render.conntrackFlushed) }
  }
}
