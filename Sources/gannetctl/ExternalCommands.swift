import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - router gateway

struct GatewayCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gateway", abstract: "Routers' external gateways (north-south: floating IPs and SNAT).",
    subcommands: [Set.self, Clear.self, List.self])

  struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Give a router an external gateway: its external IP, the upstream gateway, its port MAC, its SNAT node.",
      discussion: """
        Example: gannetctl gateway set r1 --external-ip 203.0.113.10/24 --upstream 203.0.113.1 \\
                   --mac fa:16:3e:ee:00:01 --snat-node 10.9.0.3 --port-range 1024-65535
        """)
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    @Option(help: "External IP with the external subnet's length.") var externalIP: String
    @Option(help: "Upstream gateway on the external network (its MAC is resolved by ARP).") var upstream: IPv4Address
    @Option(help: "MAC of the router's gateway port (source of SNAT traffic; its SNAT port on the subnets).") var mac: MACAddress
    @Option(help: "Tunnel IP of the network node that does this router's SNAT.") var snatNode: IPv4Address
    @Option(help: "External ports SNAT may use, LOW-HIGH.") var portRange = "1024-65535"
    func run() throws {
      guard let (ip, length) = IPv4Prefix.addressAndLength(externalIP) else {
        throw ValidationError("--external-ip: '\(externalIP)' is not an address with its subnet's length (203.0.113.10/24)")
      }
      guard let (low, high) = ExternalGateway.portRange(portRange) else {
        throw ValidationError("--port-range: '\(portRange)' is not LOW-HIGH (1024-65535)")
      }
      try common.change(.routerGatewaySet(router: id, ExternalGateway(externalIP: ip, prefixLength: length, upstream: upstream, mac: mac,
                                                                      snatNode: snatNode, portLow: low, portHigh: high)))
    }
  }
  struct Clear: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a router's external gateway.",
                                                    discussion: "Example: gannetctl gateway clear r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    func run() throws { try common.change(.routerGatewayClear(router: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "External gateways: upstream MAC as resolved here, and on a SNAT node sessions and ports in use.",
      discussion: "Example: gannetctl gateway list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.gateways), as: [GatewayRow].self, render: Render.gateways)
    }
  }
}

// MARK: - floating IPs

struct FloatingIPCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fip", abstract: "Floating IPs: public addresses mapped 1:1 to a port's fixed IP, on the port's node.",
    subcommands: [Create.self, Associate.self, Disassociate.self, Delete.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a floating IP, optionally associated with a port.",
                                                    discussion: "Example: gannetctl fip create 203.0.113.20 --port vm-a1")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    @Option(help: "Port to associate with.") var port: String?
    @Option(help: "Which fixed IP of the port (default: its first).") var fixedIP: IPv4Address?
    func run() throws { try common.change(.floatingIPCreate(FloatingIP(address: ip, port: port, fixedIP: fixedIP))) }
  }
  struct Associate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Associate a floating IP with a port (or move it to another port); the hosting node sends gratuitous ARP.",
      discussion: "Example: gannetctl fip associate 203.0.113.20 --port vm-c2")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    @Option(help: "Port.") var port: String
    @Option(help: "Which fixed IP of the port (default: its first).") var fixedIP: IPv4Address?
    func run() throws { try common.change(.floatingIPAssociate(address: ip, port: port, fixedIP: fixedIP)) }
  }
  struct Disassociate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Disassociate a floating IP from its port.",
                                                    discussion: "Example: gannetctl fip disassociate 203.0.113.20")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    func run() throws { try common.change(.floatingIPDisassociate(address: ip)) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a floating IP.", discussion: "Example: gannetctl fip delete 203.0.113.20")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    func run() throws { try common.change(.floatingIPDelete(address: ip)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Floating IPs, their ports, and whether this node hosts them.",
                                                    discussion: "Example: gannetctl fip list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.fips), as: [FloatingIPRow].self, render: Render.floatingIPs)
    }
  }
}

// MARK: - sessions

struct SessionsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sessions", abstract: "SNAT sessions (connection tracking) on this node, filtered.",
    discussion: "Examples: gannetctl sessions · gannetctl sessions --router r1 --proto tcp · gannetctl sessions --inside-ip 10.1.0.10")
  @OptionGroup var common: Common
  @Option(help: "Only this router's sessions.") var router: String?
  @Option(help: "Only sessions of this inside (VM) IP.") var insideIP: IPv4Address?
  @Option(help: "Only sessions with this remote IP.") var remoteIP: IPv4Address?
  @Option(help: "Only sessions on this external IP.") var externalIP: IPv4Address?
  @Option(help: "tcp, udp or icmp.") var proto: String?
  @Option(help: "At most this many rows.") var limit = 1000
  func run() throws {
    if let proto, !["tcp", "udp", "icmp"].contains(proto) { throw ValidationError("--proto must be tcp, udp or icmp") }
    guard (1...10_000_000).contains(limit) else { throw ValidationError("--limit must be 1…10000000") }
    let f = SessionFilter(router: router, insideIP: insideIP, remoteIP: remoteIP, externalIP: externalIP, proto: proto, limit: limit)
    try common.run(.showSessions(f), as: [SessionRow].self, render: Render.sessions)
  }
}
