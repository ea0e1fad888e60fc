import ArgumentParser
import Control
import Foundation
import Wire

@main
struct Gannetctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannetctl",
    abstract: "Inspect and program a running gannetd through its control socket.",
    discussion: """
      Every command sends one request (JSON, control protocol \(ControlProtocol.version)) and prints the reply:
      a table by default, the daemon's JSON with --json. Errors print their code and message
      and exit 1.
      Example: gannetctl show ports --socket /run/gannet/gannetd.sock
      """,
    subcommands: [NetworkCommand.self, PortCommand.self, FDBCommand.self, RouterCommand.self, ChassisCommand.self, GatewayCommand.self,
                  FloatingIPCommand.self, SessionsCommand.self, Show.self,
                  Version.self])
}

/// Options every command takes.
struct Common: ParsableArguments {
  @Option(help: "gannetd's control socket (default: $GANNET_SOCKET, else \(ControlProtocol.defaultSocketPath)).")
  var socket = ProcessInfo.processInfo.environment["GANNET_SOCKET"] ?? ControlProtocol.defaultSocketPath
  @Flag(help: "Print the daemon's JSON reply instead of a table.") var json = false

  /// Sends `r`; prints the result with `render` (or as JSON), or the error.
  func run(_ r: ControlRequest, render: (Any) -> String) throws {
    do {
      let result = try ControlClient(path: socket).call(r)
      if json {
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
        print(String(decoding: data, as: UTF8.self))
      } else {
        print(render(result), terminator: "")
      }
    } catch let e as ControlError {
      var stderr = StandardError()
      print("error (\(e.code)): \(e.message)", to: &stderr)
      throw ExitCode(1)
    }
  }
}

struct StandardError: TextOutputStream {
  mutating func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// A plain text table: a header row and aligned columns.
func table(_ rows: [[String: Any]], _ columns: [(String, String)]) -> String {
  guard !rows.isEmpty else { return "(none)\n" }
  func cell(_ v: Any?) -> String {
    switch v {
    case let a as [Any]: a.map { "\($0)" }.joined(separator: ",")
    case let n as NSNumber where StrictObject.isBool(n): n.boolValue ? "yes" : "no"
    case let n as NSNumber where n.doubleValue == n.doubleValue.rounded() && abs(n.doubleValue) < 1e15: "\(n.int64Value)"
    case let n as NSNumber: String(format: "%.1f", n.doubleValue)
    case let v?: "\(v)"
    case nil: "-"
    }
  }
  let cells = rows.map { r in columns.map { cell(r[$0.0]) } }
  var widths = columns.map(\.1.count)
  for r in cells { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
  func line(_ items: [String]) -> String {
    items.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
      .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
  }
  return line(columns.map(\.1)) + cells.map(line).joined()
}

func done(_ result: Any) -> String {
  "ok (generation \((result as? [String: Any])?["generation"] ?? "?"))\n"
}

extension MACAddress: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}
extension IPv4Address: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}

// MARK: - network

struct NetworkCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "network", abstract: "Tenant L2 networks.", subcommands: [Create.self, Delete.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a network.",
      discussion: "Example: gannetctl network create net-a --tenant tenant-a --vni 1001")
    @OptionGroup var common: Common
    @Argument(help: "Network id.") var id: String
    @Option(help: "Owning tenant (project).") var tenant: String
    @Option(help: "VXLAN network identifier, 1…16777215.") var vni: Int
    @Option(help: "MTU (default: each node's underlay_mtu − 50).") var mtu: Int?
    @Flag(help: "Learn the source MACs of local ports' frames.") var learning = false
    @Option(help: "With --learning: forget a MAC not seen for this many seconds (default 300).") var agingSeconds: Int?
    @Option(help: "With --learning: learn at most this many MACs in the network (default 4096).") var learningLimit: Int?
    func run() throws {
      var args: [String: Any] = ["id": id, "tenant": tenant, "vni": vni, "learning": learning]
      if let mtu { args["mtu"] = mtu }
      if let agingSeconds { args["aging_seconds"] = agingSeconds }
      if let learningLimit { args["learning_limit"] = learningLimit }
      try common.run(try request("network.create", args), render: done)
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a network that has no ports.", discussion: "Example: gannetctl network delete net-a")
    @OptionGroup var common: Common
    @Argument(help: "Network id.") var id: String
    func run() throws { try common.run(.networkDelete(id: id), render: done) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List networks.", discussion: "Example: gannetctl network list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.networks)) {
        table($0 as? [[String: Any]] ?? [], [("id", "NETWORK"), ("tenant", "TENANT"), ("vni", "VNI"), ("mtu", "MTU"),
                                            ("bridge_domain", "BD"), ("ports", "PORTS"), ("learning", "LEARNING")])
      }
    }
  }
}

/// Builds a request through the same strict parser the daemon uses, so that the CLI
/// refuses what the daemon would refuse, with the same message, before sending anything.
func request(_ op: String, _ args: [String: Any]) throws -> ControlRequest {
  let obj: [String: Any] = ["version": ControlProtocol.version, "op": op, "args": args]
  do { return try ControlRequest.parse(try JSONSerialization.data(withJSONObject: obj)) } catch let e as ControlError {
    throw ValidationError(e.message)
  }
}

// MARK: - port

struct PortCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "port", abstract: "VM ports (Neutron ports).", subcommands: [Create.self, Update.self, Delete.self, List.self])

  struct Location: ParsableArguments {
    @Option(help: "Attach to a local interface: af-packet:IFNAME or dpdk:net_…,iface=IFNAME.") var local: String?
    @Option(help: "The port is on another node, reached through this tunnel IP.") var remote: IPv4Address?
    var args: [String: Any] {
      var a: [String: Any] = [:]
      if let local { a["local"] = local }
      if let remote { a["remote"] = remote.description }
      return a
    }
  }

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a port on a network.",
      discussion: "Example: gannetctl port create vm1 --network net-a --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local af-packet:tap-vm1")
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    @Option(help: "Network id.") var network: String
    @Option(help: "The port's MAC address.") var mac: MACAddress
    @Option(name: .customLong("ip"), help: "A fixed IPv4 address (repeatable).") var ips: [IPv4Address] = []
    @OptionGroup var location: Location
    @Flag(help: "Turn anti-spoofing off (the port may send from any MAC).") var noPortSecurity = false
    func run() throws {
      var args: [String: Any] = ["id": id, "network": network, "mac": mac.description,
                                 "fixed_ips": ips.map(\.description), "port_security": !noPortSecurity]
      args.merge(location.args) { a, _ in a }
      try common.run(try request("port.create", args), render: done)
    }
  }
  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a port (new local interface or remote node) or change its addresses.",
      discussion: "Example: gannetctl port update vm1 --remote 192.0.2.12")
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    @OptionGroup var location: Location
    @Option(name: .customLong("ip"), help: "Replace the fixed IPv4 addresses (repeatable).") var ips: [IPv4Address] = []
    func run() throws {
      var args: [String: Any] = ["id": id]
      args.merge(location.args) { a, _ in a }
      if !ips.isEmpty { args["fixed_ips"] = ips.map(\.description) }
      try common.run(try request("port.update", args), render: done)
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a port.", discussion: "Example: gannetctl port delete vm1")
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    func run() throws { try common.run(.portDelete(id: id), render: done) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List ports with their status and packet counts.",
                                                    discussion: "Example: gannetctl port list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.ports)) { r in
        let rows = (r as? [[String: Any]] ?? []).map { row -> [String: Any] in
          var o = row
          o["where"] = row["local"] ?? row["remote"]
          return o
        }
        return table(rows, [("id", "PORT"), ("network", "NETWORK"), ("mac", "MAC"), ("fixed_ips", "IPS"), ("where", "LOCATION"),
                            ("status", "STATUS"), ("rx_packets", "RX"), ("tx_packets", "TX")])
      }
    }
  }
}

// MARK: - fdb

struct FDBCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fdb", abstract: "Static forwarding entries (l2population).", subcommands: [Add.self, Delete.self, Show.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Send frames for a MAC on a network to a port.",
      discussion: "Example: gannetctl fdb add --network net-a --mac fa:16:3e:00:00:09 --port remote-vm9")
    @OptionGroup var common: Common
    @Option(help: "Network id.") var network: String
    @Option(help: "MAC address.") var mac: MACAddress
    @Option(help: "Port id.") var port: String
    func run() throws { try common.run(.fdbAdd(FDBEntry(network: network, mac: mac, port: port)), render: done) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove a static entry.", discussion: "Example: gannetctl fdb delete --network net-a --mac fa:16:3e:00:00:09")
    @OptionGroup var common: Common
    @Option(help: "Network id.") var network: String
    @Option(help: "MAC address.") var mac: MACAddress
    func run() throws { try common.run(.fdbDelete(network: network, mac: mac), render: done) }
  }
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the FDB: every port MAC, static and learned entry; --remote for those behind tunnels.",
      discussion: "Example: gannetctl fdb show --network net-a --remote")
    @OptionGroup var common: Common
    @Option(help: "Only this network.") var network: String?
    @Flag(help: "Only entries reached through a VXLAN tunnel (remote FDB).") var remote = false
    func run() throws {
      try common.run(.show(.fdb)) { r in
        let rows = (r as? [[String: Any]] ?? []).filter {
          (network == nil || $0["network"] as? String == network)
            && (!remote || ($0["location"] as? String ?? "").hasPrefix("vxlan "))
        }
        return table(rows, [("network", "NETWORK"), ("mac", "MAC"), ("port", "PORT"), ("kind", "KIND"), ("location", "LOCATION")])
      }
    }
  }
}

// MARK: - show

struct Show: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show node, state, counters, drops, networks, ports, the FDB or the VXLAN tunnels.",
    discussion: "Examples: gannetctl show drops · gannetctl show tunnels")
  @OptionGroup var common: Common
  @Argument(help: "One of: \(ControlRequest.ShowWhat.allCases.map(\.rawValue).joined(separator: ", ")), sessions.")
  var what: String

  func run() throws {
    if what == "sessions" {      // the op is show.sessions; `gannetctl sessions` has the filters
      try common.run(try request("show.sessions", ["limit": 1000])) { r in sessionTable(r) }
      return
    }
    guard let w = ControlRequest.ShowWhat(rawValue: what) else {
      throw ValidationError("unknown '\(what)'; one of \(ControlRequest.ShowWhat.allCases.map(\.rawValue).joined(separator: ", ")), sessions")
    }
    try common.run(.show(w)) { r in
      switch w {
      case .node:
        return keyValues(r as? [String: Any] ?? [:])
      case .drops:
        return table(r as? [[String: Any]] ?? [], [("count", "COUNT"), ("where", "WHERE"), ("reason", "REASON"), ("code", "CODE"),
                                                  ("description", "DESCRIPTION")])
      case .counters:
        let d = r as? [String: Any] ?? [:]
        return table(d["ports"] as? [[String: Any]] ?? [], [("port", "PORT"), ("interface", "BACKEND"), ("rx_packets", "RX-PKTS"),
                                                           ("rx_bytes", "RX-BYTES"), ("tx_packets", "TX-PKTS"), ("tx_bytes", "TX-BYTES")])
          + "\n" + table(d["nodes"] as? [[String: Any]] ?? [], [("node", "NODE"), ("vectors", "VECTORS"), ("packets", "PACKETS"),
                                                               ("cycles_per_packet", "CYCLES/PKT")])
      case .networks:
        return table(r as? [[String: Any]] ?? [], [("id", "NETWORK"), ("tenant", "TENANT"), ("vni", "VNI"), ("ports", "PORTS")])
      case .ports:
        return table(r as? [[String: Any]] ?? [], [("id", "PORT"), ("network", "NETWORK"), ("mac", "MAC"), ("status", "STATUS")])
      case .fdb:
        return table(r as? [[String: Any]] ?? [], [("network", "NETWORK"), ("mac", "MAC"), ("port", "PORT"), ("kind", "KIND"),
                                                  ("location", "LOCATION")])
      case .tunnels:
        return table(r as? [[String: Any]] ?? [], [("remote", "REMOTE-VTEP"), ("next_hop", "NEXT-HOP"), ("next_hop_mac", "NEXT-HOP-MAC"),
                                                  ("state", "STATE"), ("vnis", "VNIS"), ("remote_ports", "PORTS"),
                                                  ("rx_packets", "RX-PKTS"), ("rx_bytes", "RX-BYTES"), ("tx_packets", "TX-PKTS"),
                                                  ("tx_bytes", "TX-BYTES")])
      case .routers:
        return table(r as? [[String: Any]] ?? [], [("id", "ROUTER"), ("tenant", "TENANT"), ("vrf", "VRF"), ("interfaces", "INTERFACES"),
                                                  ("routes", "STATIC-ROUTES")])
      case .routes:
        return table(r as? [[String: Any]] ?? [], [("router", "ROUTER"), ("prefix", "PREFIX"), ("kind", "KIND"), ("via", "VIA"),
                                                  ("network", "NETWORK")])
      case .neighbors:
        return table(r as? [[String: Any]] ?? [], [("router", "ROUTER"), ("network", "NETWORK"), ("ip", "IP"), ("mac", "MAC"),
                                                  ("port", "PORT"), ("location", "LOCATION")])
      case .fips:
        return table(r as? [[String: Any]] ?? [], [("ip", "FLOATING-IP"), ("port", "PORT"), ("fixed_ip", "FIXED-IP"), ("router", "ROUTER"),
                                                  ("location", "LOCATION"), ("hosted_here", "HOSTED-HERE")])
      case .gateways:
        return table(r as? [[String: Any]] ?? [], [("router", "ROUTER"), ("external_ip", "EXTERNAL-IP"), ("upstream", "UPSTREAM"),
                                                  ("upstream_mac", "UPSTREAM-MAC"), ("snat_here", "SNAT-HERE"), ("sessions", "SESSIONS")])
      case .nat:
        return natSummary(r)
      case .state:
        let data = (try? JSONSerialization.data(withJSONObject: r, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
      }
    }
  }
}

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print the control protocol version this CLI speaks.",
                                                  discussion: "Example: gannetctl version")
  func run() { print("gannetctl, control protocol \(ControlProtocol.version)") }
}

/// A JSON object as aligned "key  value" lines, nested objects indented under their key and
/// lists of objects one line per item; keys are never cut.
func keyValues(_ d: [String: Any], indent: String = "") -> String {
  let width = (d.keys.map(\.count).max() ?? 0) + 2
  func scalar(_ v: Any) -> String {
    if let b = v as? Bool, StrictObject.isBool(v) { return b ? "yes" : "no" }
    return "\(v)"
  }
  var out = ""
  for key in d.keys.sorted() {
    let label = indent + key.padding(toLength: width, withPad: " ", startingAt: 0)
    switch d[key]! {
    case let o as [String: Any]:
      out += indent + key + "\n" + keyValues(o, indent: indent + "  ")
    case let list as [[String: Any]]:
      out += label + (list.isEmpty ? "none" : "") + "\n"
      for item in list { out += indent + "  - " + item.keys.sorted().map { "\($0) \(scalar(item[$0]!))" }.joined(separator: ", ") + "\n" }
    case let list as [Any]:
      out += label + (list.isEmpty ? "none" : list.map(scalar).joined(separator: ", ")) + "\n"
    case let v:
      out += label + scalar(v) + "\n"
    }
  }
  return out
}

