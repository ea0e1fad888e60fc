import ArgumentParser
import Control
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
      try common.run(try request("router.gateway.set", ["router": id, "external_ip": externalIP, "upstream": upstream.description,
                                                        "mac": mac.description, "snat_node": snatNode.description,
                                                        "port_range": portRange]), render: done)
    }
  }
  struct Clear: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a router's external gateway.",
                                                    discussion: "Example: gannetctl gateway clear r1")
    @OptionGroup var common: Common
    @Argument(help: "Router id.") var id: String
    func run() throws { try common.run(try request("router.gateway.clear", ["router": id]), render: done) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "External gateways: upstream MAC as resolved here, and on a SNAT node sessions and ports in use.",
      discussion: "Example: gannetctl gateway list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.gateways)) { r in
        table(r as? [[String: Any]] ?? [], [("router", "ROUTER"), ("external_ip", "EXTERNAL-IP"), ("upstream", "UPSTREAM"),
                                            ("upstream_mac", "UPSTREAM-MAC"), ("snat_node", "SNAT-NODE"), ("snat_here", "SNAT-HERE"),
                                            ("port_range", "PORTS"), ("sessions", "SESSIONS"), ("tcp_ports_in_use", "TCP-PORTS"),
                                            ("udp_ports_in_use", "UDP-PORTS"), ("icmp_ids_in_use", "ICMP-IDS")])
      }
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
    func run() throws {
      var a: [String: Any] = ["ip": ip.description]
      if let port { a["port"] = port }
      if let fixedIP { a["fixed_ip"] = fixedIP.description }
      try common.run(try request("fip.create", a), render: done)
    }
  }
  struct Associate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Associate a floating IP with a port (or move it to another port); the hosting node sends gratuitous ARP.",
      discussion: "Example: gannetctl fip associate 203.0.113.20 --port vm-c2")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    @Option(help: "Port.") var port: String
    @Option(help: "Which fixed IP of the port (default: its first).") var fixedIP: IPv4Address?
    func run() throws {
      var a: [String: Any] = ["ip": ip.description, "port": port]
      if let fixedIP { a["fixed_ip"] = fixedIP.description }
      try common.run(try request("fip.associate", a), render: done)
    }
  }
  struct Disassociate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Disassociate a floating IP from its port.",
                                                    discussion: "Example: gannetctl fip disassociate 203.0.113.20")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    func run() throws { try common.run(try request("fip.disassociate", ["ip": ip.description]), render: done) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a floating IP.", discussion: "Example: gannetctl fip delete 203.0.113.20")
    @OptionGroup var common: Common
    @Argument(help: "The floating IP.") var ip: IPv4Address
    func run() throws { try common.run(try request("fip.delete", ["ip": ip.description]), render: done) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Floating IPs, their ports, and whether this node hosts them.",
                                                    discussion: "Example: gannetctl fip list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.fips)) { r in
        table(r as? [[String: Any]] ?? [], [("ip", "FLOATING-IP"), ("port", "PORT"), ("fixed_ip", "FIXED-IP"), ("router", "ROUTER"),
                                            ("location", "LOCATION"), ("hosted_here", "HOSTED-HERE")])
      }
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
    var a: [String: Any] = ["limit": limit]
    if let router { a["router"] = router }
    if let insideIP { a["inside_ip"] = insideIP.description }
    if let remoteIP { a["remote_ip"] = remoteIP.description }
    if let externalIP { a["external_ip"] = externalIP.description }
    if let proto { a["proto"] = proto }
    try common.run(try request("show.sessions", a)) { r in sessionTable(r) }
  }
}

func sessionTable(_ r: Any) -> String {
  table(r as? [[String: Any]] ?? [], [("router", "ROUTER"), ("proto", "PROTO"), ("inside", "INSIDE"), ("external", "EXTERNAL"),
                                      ("remote", "REMOTE"), ("state", "STATE"), ("idle_s", "IDLE-S"), ("expires_in_s", "EXPIRES-S"),
                                      ("packets_out", "PKTS-OUT"), ("packets_in", "PKTS-IN")])
}

func natSummary(_ r: Any) -> String {
  let d = r as? [String: Any] ?? [:]
  var out = ""
  for k in ["capacity", "live", "created", "expired", "ports_exhausted", "table_full"] {
    out += "\(k.padding(toLength: 22, withPad: " ", startingAt: 0))\(d[k] ?? 0)\n"
  }
  if let t = d["timeouts"] as? [String: Any] {
    out += "timeouts              " + t.keys.sorted().map { "\($0)=\(t[$0]!)" }.joined(separator: " ") + "\n"
  }
  return out + "\n" + table(d["external_ips"] as? [[String: Any]] ?? [],
                            [("external_ip", "EXTERNAL-IP"), ("sessions", "SESSIONS"), ("tcp_sessions", "TCP"), ("udp_sessions", "UDP"),
                             ("icmp_sessions", "ICMP"), ("tcp_ports_in_use", "TCP-PORTS"), ("udp_ports_in_use", "UDP-PORTS"),
                             ("icmp_ids_in_use", "ICMP-IDS")])
}
