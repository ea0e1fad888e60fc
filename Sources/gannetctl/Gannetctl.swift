import ArgumentParser
import Control
import ControlText
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
    subcommands: [NetworkCommand.self, PortCommand.self, FDBCommand.self, RouterCommand.self, RouteTableCommand.self, LPGCommand.self, DRGCommand.self, RPCCommand.self, ChassisCommand.self, GatewayCommand.self,
                  FloatingIPCommand.self, SessionsCommand.self, SecurityGroupCommand.self, SecurityListCommand.self, ConntrackCommand.self,
                  FlowCommand.self, DumpFlowsCommand.self, CaptureCommand.self, TraceCommand.self, Show.self, CloudCommand.self,
                  Version.self])
}

/// Options every command takes.
struct Common: ParsableArguments {
  @Option(help: "gannetd's control socket (default: $GANNET_SOCKET, else \(ControlProtocol.defaultSocketPath)).")
  var socket = ProcessInfo.processInfo.environment["GANNET_SOCKET"] ?? ControlProtocol.defaultSocketPath
  @Flag(help: "Print the daemon's JSON reply instead of a table.") var json = false
  @Option(help: """
    Change the cloud instead of one node: etcd client URLs, comma-separated (default: $GANNET_CLOUD). \
    The change is checked against the whole cloud and written to etcd; every node's agent applies it.
    """)
  var cloud = ProcessInfo.processInfo.environment["GANNET_CLOUD"]

  /// Sends `r`; prints its typed result with `render` (or the daemon's JSON), or the error.
  func run<R: Decodable>(_ r: ControlRequest, as: R.Type, render: (R) -> String) throws {
    do {
      let (result, reply) = try ControlClient(path: socket).call(r, as: R.self)
      if json {
        let o = (try JSONSerialization.jsonObject(with: reply) as? [String: Any])?["result"] ?? [String: Any]()
        let data = try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
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

  /// Sends a change; prints the new generation. With `--cloud`, writes it to etcd instead.
  func change(_ r: ControlRequest) throws {
    guard let cloud else {
      if case .portCreate(let p) = r, p.node != nil { throw ValidationError("--node binds ports in the cloud: give --cloud ENDPOINTS too") }
      if case .portUpdate(_, _, _, _, _, let n) = r, n != nil { throw ValidationError("--node binds ports in the cloud: give --cloud ENDPOINTS too") }
      return try run(r, as: ChangeReply.self, render: Render.change)
    }
    let revision = try CloudCommand.blocking(cloud) { try await $0.apply(r) }
    print(json ? #"{"revision": \#(revision)}"# : "ok (cloud revision \(revision))")
  }
}

struct StandardError: TextOutputStream {
  mutating func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

extension MACAddress: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}
extension IPv4Prefix: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}
extension IPv4Address: ExpressibleByArgument {
  public init?(argument: String) { self.init(argument) }
}

// MARK: - network

struct NetworkCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "network", abstract: "Tenant L2 networks.", subcommands: [Create.self, Update.self, Delegate.self, Delete.self, List.self])

  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Set the security lists of a network (at most 5; they filter every port on it).",
      discussion: "Example: gannetctl network update net-a --security-list db-list --security-list ssh-list")
    @OptionGroup var common: Common
    @Argument(help: "Network id.") var id: String
    @Option(name: .customLong("security-list"), help: "A security list (repeatable).") var lists: [String] = []
    @Flag(help: "Remove every security list.") var noSecurityLists = false
    func run() throws {
      guard !lists.isEmpty || noSecurityLists else { throw ValidationError("give --security-list L (repeatable) or --no-security-lists") }
      guard lists.isEmpty || !noSecurityLists else { throw ValidationError("--security-list and --no-security-lists exclude each other") }
      try common.change(.networkUpdate(id: id, securityLists: lists))
    }
  }

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
      guard (1...0xff_ffff).contains(vni) else { throw ValidationError("--vni must be 1…16777215") }
      try common.change(.networkCreate(Network(id: id, tenant: tenant, vni: UInt32(vni), mtu: mtu, learning: learning,
                                               learningLimit: learningLimit ?? 4096, agingSeconds: agingSeconds ?? 300)))
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a network that has no ports.", discussion: "Example: gannetctl network delete net-a")
    @OptionGroup var common: Common
    @Argument(help: "Network id.") var id: String
    func run() throws { try common.change(.networkDelete(id: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List networks.", discussion: "Example: gannetctl network list")
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.networks), as: [NetworkRow].self, render: Render.networkList)
    }
  }
}

// MARK: - port

struct PortCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "port", abstract: "VM ports (Neutron ports).", subcommands: [Create.self, Update.self, Delete.self, List.self])

  struct Location: ParsableArguments {
    @Option(help: "Attach to a local interface: af-packet:IFNAME, dpdk:net_…,iface=IFNAME, or a VM's vhost-user socket: vhost-user:PATH (gannetd serves it) or vhost-user-client:PATH (QEMU serves it).") var local: String?
    @Option(help: "The port is on another node, reached through this tunnel IP.") var remote: IPv4Address?
    @Option(help: "With --cloud: the node the port is bound to (its --local interface is on that node).") var node: String?
    /// Where the port is, if given (both is an error).
    func location() throws -> PortLocation? {
      switch (local, remote) {
      case (let l?, nil):
        do { _ = try PortSpec(parsing: l) } catch { throw ValidationError("--local: \(error.message)") }
        return .local(l)
      case (nil, let r?): return .remote(r)
      case (nil, nil): return nil
      default: throw ValidationError("give --local or --remote, not both")
      }
    }
  }

  struct Groups: ParsableArguments {
    @Option(name: .customLong("security-group"), help: "A security group (repeatable).") var names: [String] = []
    @Flag(help: "No security group (not even the tenant's default).") var noSecurityGroups = false
    /// nil: not given.
    func groups() throws -> [String]? {
      guard names.isEmpty || !noSecurityGroups else { throw ValidationError("--security-group and --no-security-groups exclude each other") }
      return noSecurityGroups ? [] : names.isEmpty ? nil : names
    }
  }

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Create a port on a network (in its tenant's default group unless it names its groups).",
      discussion: "Example: gannetctl port create vm1 --network net-a --mac fa:16:3e:00:00:01 --ip 10.0.0.1 --local af-packet:tap-vm1")
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    @Option(help: "Network id.") var network: String
    @Option(help: "The port's MAC address.") var mac: MACAddress
    @Option(name: .customLong("ip"), help: "A fixed IPv4 address (repeatable).") var ips: [IPv4Address] = []
    @OptionGroup var location: Location
    @Flag(help: "Turn anti-spoofing off (the port may send from any MAC; never filtered).") var noPortSecurity = false
    @OptionGroup var groups: Groups
    @Option(help: "The owning tenant when it is not the network's: a managed service's port on a network delegated to it.")
    var tenant: String?
    func run() throws {
      guard let at = try location.location() else { throw ValidationError("one of --local or --remote is required") }
      try common.change(.portCreate(LogicalPort(id: id, network: network, mac: mac, fixedIPs: ips, location: at, portSecurity: !noPortSecurity,
                                                securityGroups: try groups.groups(), tenant: tenant, node: location.node)))
    }
  }
  struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Move a port (new local interface or remote node) or change its addresses.",
      discussion: """
        Example: gannetctl port update vm1 --remote 192.0.2.12
        In the cloud (re-binds the port; every node follows): gannetctl port update vm1 --node compute-2 --cloud http://10.0.0.5:2379
        """)
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    @OptionGroup var location: Location
    @Option(name: .customLong("ip"), help: "Replace the fixed IPv4 addresses (repeatable).") var ips: [IPv4Address] = []
    @OptionGroup var groups: Groups
    func run() throws {
      try common.change(.portUpdate(id: id, location: try location.location(), fixedIPs: ips.isEmpty ? nil : ips, portSecurity: nil,
                                    securityGroups: try groups.groups(), node: location.node))
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a port.", discussion: "Example: gannetctl port delete vm1")
    @OptionGroup var common: Common
    @Argument(help: "Port id.") var id: String
    func run() throws { try common.change(.portDelete(id: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List ports with their status and packet counts.",
                                                    discussion: """
                                                      ACL-IN and ACL-OUT: packets the port's security groups and lists admitted/refused, \
                                                      to the VM and from it ('-': the port is not filtered).
                                                      Example: gannetctl port list
                                                      """)
    @OptionGroup var common: Common
    func run() throws {
      try common.run(.show(.ports), as: [PortRow].self, render: Render.portList)
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
    func run() throws { try common.change(.fdbAdd(FDBEntry(network: network, mac: mac, port: port))) }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Remove a static entry.", discussion: "Example: gannetctl fdb delete --network net-a --mac fa:16:3e:00:00:09")
    @OptionGroup var common: Common
    @Option(help: "Network id.") var network: String
    @Option(help: "MAC address.") var mac: MACAddress
    func run() throws { try common.change(.fdbDelete(network: network, mac: mac)) }
  }
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the FDB: every port MAC, static and learned entry; --remote for those behind tunnels.",
      discussion: "Example: gannetctl fdb show --network net-a --remote")
    @OptionGroup var common: Common
    @Option(help: "Only this network.") var network: String?
    @Flag(help: "Only entries reached through a VXLAN tunnel (remote FDB).") var remote = false
    func run() throws {
      try common.run(.show(.fdb), as: [FDBRow].self) { Render.fdb($0, network: network, remoteOnly: remote) }
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
      try common.run(.showSessions(SessionFilter()), as: [SessionRow].self, render: Render.sessions)
      return
    }
    guard let w = ControlRequest.ShowWhat(rawValue: what) else {
      throw ValidationError("unknown '\(what)'; one of \(ControlRequest.ShowWhat.allCases.map(\.rawValue).joined(separator: ", ")), sessions")
    }
    let r = ControlRequest.show(w)
    switch w {
    case .node: try common.run(r, as: NodeReply.self, render: Render.node)
    case .drops: try common.run(r, as: [DropRow].self, render: Render.drops)
    case .counters: try common.run(r, as: CountersReply.self, render: Render.counters)
    case .networks: try common.run(r, as: [NetworkRow].self, render: Render.networks)
    case .ports: try common.run(r, as: [PortRow].self, render: Render.ports)
    case .fdb: try common.run(r, as: [FDBRow].self) { Render.fdb($0) }
    case .tunnels: try common.run(r, as: [TunnelRow].self, render: Render.tunnels)
    case .routers: try common.run(r, as: [RouterRow].self, render: Render.routers)
    case .routes: try common.run(r, as: [RouteRow].self) { Render.routes($0) }
    case .neighbors: try common.run(r, as: [NeighborRow].self, render: Render.neighbors)
    case .fips: try common.run(r, as: [FloatingIPRow].self, render: Render.floatingIPs)
    case .gateways: try common.run(r, as: [GatewayRow].self, render: Render.gateways)
    case .nat: try common.run(r, as: NATReply.self, render: Render.nat)
    case .runtime: try common.run(r, as: RuntimeReply.self, render: Render.runtime)
    case .flows: try common.run(r, as: [FlowRow].self, render: Render.flows)
    case .state: try common.run(r, as: ControlState.self, render: Render.state)
    case .securityGroups: try common.run(r, as: [SecurityGroupRow].self, render: Render.securityGroups)
    case .securityLists: try common.run(r, as: [SecurityListRow].self, render: Render.securityLists)
    case .routeTables: try common.run(r, as: [RouteTableRow].self, render: Render.routeTables)
    case .lpgs: try common.run(r, as: [LPGRow].self, render: Render.lpgs)
    case .drgs: try common.run(r, as: [DRGAttachmentRow].self, render: Render.drgs)
    }
  }
}

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Print the control protocol version this CLI speaks.",
                                                  discussion: "Example: gannetctl version")
  func run() { print("gannetctl, control protocol \(ControlProtocol.version)") }
}
