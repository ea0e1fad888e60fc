import ArgumentParser
import Control
import ControlText
import Foundation
import Wire

// MARK: - capture

struct CaptureCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "capture",
    abstract: "Copy the frames a port receives or sends into a pcap file (libpcap filter syntax).",
    discussion: """
      gannetd's workers copy the matching frames into bounded rings and gannetd writes the file;
      the command waits until COUNT frames are written or SECONDS have passed (with --no-wait it
      returns at once: see `capture status`). A full ring counts frames as lost, never slows traffic.
      Example: gannetctl capture --port vm1 --direction rx --filter 'icmp' --count 10 --write /tmp/vm1.pcap
      """,
    subcommands: [Start.self, Status.self, Stop.self], defaultSubcommand: Start.self)

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a capture (the default subcommand).")
    @OptionGroup var common: Common
    @Option(help: "Port id, underlay or uplink.") var port: String
    @Option(help: "rx, tx or both.") var direction = "both"
    @Option(help: "A libpcap filter expression (as tcpdump's).") var filter: String?
    @Option(help: "Frames to write.") var count = 100
    @Option(help: "Stop after this many seconds at the latest.") var seconds = 60
    @Option(help: "The pcap file gannetd writes.") var write: String
    @Flag(help: "Return once the capture runs.") var noWait = false

    func run() throws {
      guard let d = CaptureRequest.Direction(rawValue: direction) else { throw ValidationError("--direction: rx, tx or both") }
      let path = write.hasPrefix("/") ? write : FileManager.default.currentDirectoryPath + "/" + write
      let r = ControlRequest.captureStart(CaptureRequest(port: port, direction: d, filter: filter, count: count, seconds: seconds, file: path))
      if noWait || common.json {
        try common.run(r, as: CaptureReply.self, render: Render.capture)
        return
      }
      try common.run(r, as: CaptureReply.self) { _ in "" }
      let deadline = Date().addingTimeInterval(Double(seconds) + 5)
      while Date() < deadline {
        let (s, _) = try ControlClient(path: common.socket).call(.captureStatus, as: CaptureReply.self)
        if s.state != "running" {
          print(Render.capture(s), terminator: "")
          return
        }
        usleep(100_000)
      }
      try common.run(.captureStop, as: CaptureReply.self, render: Render.capture)
    }
  }
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The capture running or last finished.")
    @OptionGroup var common: Common
    func run() throws { try common.run(.captureStatus, as: CaptureReply.self, render: Render.capture) }
  }
  struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the capture and close its file.")
    @OptionGroup var common: Common
    func run() throws { try common.run(.captureStop, as: CaptureReply.self, render: Render.capture) }
  }
}

// MARK: - trace

struct TraceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trace",
    abstract: "Follow packets through the graph: live (start, show, stop) or a dry run (packet).",
    discussion: """
      Live: the next COUNT packets received on a port that the filter accepts are marked, and every
      node they pass records its decision (next node or drop reason), the ports, the snapshot
      generation and the frame as it left the node. A dry run builds one frame and runs it through a
      private copy of the graph against the live tables: nothing is sent, no table is written.
      Examples: gannetctl trace start --port vm1 --filter icmp --count 3 · gannetctl trace show
                gannetctl trace packet --port vm1 'ip 10.0.1.10 > 10.0.2.10 tcp 40000 > 1521 flags S'
      """,
    subcommands: [Start.self, Show.self, Stop.self, Packet.self])

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Mark the next packets a port receives.")
    @OptionGroup var common: Common
    @Option(help: "Port id, underlay or uplink.") var port: String
    @Option(help: "A libpcap filter expression (as tcpdump's).") var filter: String?
    @Option(help: "Packets to mark (1-1000).") var count = 10
    func run() throws {
      try common.run(.traceStart(TraceRequest(port: port, filter: filter, count: count)), as: TraceReply.self, render: Render.trace)
    }
  }
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print each traced packet's records in order.")
    @OptionGroup var common: Common
    func run() throws { try common.run(.traceShow, as: TraceReply.self, render: Render.trace) }
  }
  struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop marking packets (the records stay for trace show).")
    @OptionGroup var common: Common
    func run() throws { try common.run(.traceStop, as: TraceReply.self, render: Render.trace) }
  }
  struct Packet: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Dry run: one frame through a private copy of the graph; prints the records and what would be sent.")
    @OptionGroup var common: Common
    @Option(help: "The port the frame enters at (port id, underlay or uplink).") var port: String
    @Option(help: "The whole frame in hexadecimal instead of a packet description.") var frame: String?
    @Option(help: "live (the node's tracked connections, read only) or new (as if none).") var ctState = "live"
    @Argument(help: "ip SRC > DST [tcp SPORT > DPORT [flags S] | udp SPORT > DPORT | icmp]") var packet: String?
    func run() throws {
      var bytes: [UInt8]?
      if let frame {
        guard let b = ControlRequest.hexBytes(frame) else { throw ValidationError("--frame: not hexadecimal") }
        bytes = b
      }
      guard (packet == nil) != (bytes == nil) else { throw ValidationError("give a packet description or --frame, one of them") }
      try common.run(.tracePacket(TracePacketRequest(port: port, packet: packet, frame: bytes, ctState: ctState)), as: TraceReply.self,
                     render: Render.trace)
    }
  }
}

// MARK: - flows

struct FlowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "flow",
    abstract: "Operator flows: a priority table every frame entering an interface meets before the pipeline.",
    discussion: """
      The highest priority whose match holds decides: drop, continue (into the pipeline), mirror
      (a copy goes out of --target) or redirect (the frame goes out of --target instead).
      Persisted, validated and all-or-nothing like every change.
      Examples: gannetctl flow add block-scan --in-port uplink --src 198.51.100.0/24 --action drop
                gannetctl flow add tap-vm1 --in-port vm1 --action mirror --target capture-port
      """,
    subcommands: [Add.self, Delete.self, List.self])

  struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add a flow.")
    @OptionGroup var common: Common
    @Argument(help: "Flow id.") var id: String
    @Option(help: "0-65535, higher first (default 100).") var priority = 100
    @Option(help: "Port id, underlay or uplink (default: every interface).") var inPort: String?
    @Option(help: "Source MAC.") var srcMAC: MACAddress?
    @Option(help: "Destination MAC.") var dstMAC: MACAddress?
    @Option(help: "EtherType (decimal or 0x hexadecimal).") var etherType: String?
    @Option(help: "802.1Q VLAN id.") var vlan: Int?
    @Option(help: "IPv4 source prefix.") var src: IPv4Prefix?
    @Option(help: "IPv4 destination prefix.") var dst: IPv4Prefix?
    @Option(help: "tcp, udp, icmp or 0-255.") var proto: String?
    @Option(help: "Source port or range (LOW or LOW-HIGH; tcp and udp).") var srcPort: String?
    @Option(help: "Destination port or range (LOW or LOW-HIGH; tcp and udp).") var dstPort: String?
    @Option(help: "drop, continue, mirror or redirect.") var action: String
    @Option(help: "mirror, redirect: port id, underlay or uplink.") var target: String?

    func run() throws {
      guard let a = OperatorFlow.Action(rawValue: action) else { throw ValidationError("--action: drop, continue, mirror or redirect") }
      var f = OperatorFlow(id: id, priority: priority, inPort: inPort, action: a, target: target)
      f.sourceMAC = srcMAC
      f.destinationMAC = dstMAC
      if let t = etherType {
        guard let v = t.hasPrefix("0x") ? Int(t.dropFirst(2), radix: 16) : Int(t) else { throw ValidationError("--ether-type: a number") }
        f.etherType = v
      }
      f.vlan = vlan
      f.source = src
      f.destination = dst
      if let p = proto {
        guard let n = L4Match.proto(p), let v = n else { throw ValidationError("--proto: tcp, udp, icmp or 0-255") }
        f.proto = Int(v)
      }
      func range(_ text: String?, _ name: String) throws -> (Int?, Int?) {
        guard let text else { return (nil, nil) }
        let parts = text.split(separator: "-").map { Int($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--\(name): LOW or LOW-HIGH") }
        return (parts[0], parts.count == 2 ? parts[1] : nil)
      }
      (f.sourcePortMin, f.sourcePortMax) = try range(srcPort, "src-port")
      (f.destinationPortMin, f.destinationPortMax) = try range(dstPort, "dst-port")
      try common.change(.flowAdd(f))
    }
  }
  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a flow.", discussion: "Example: gannetctl flow delete block-scan")
    @OptionGroup var common: Common
    @Argument(help: "Flow id.") var id: String
    func run() throws { try common.change(.flowDelete(id: id)) }
  }
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every flow in the order they are tried, with its hits.")
    @OptionGroup var common: Common
    func run() throws { try common.run(.show(.flows), as: [FlowRow].self, render: Render.flows) }
  }
}

// MARK: - dump-flows

struct DumpFlowsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dump-flows",
    abstract: "Every compiled table entry: match → action, packet and byte hits, and the object it comes from.",
    discussion: """
      Tables: \(DumpFlowsFilter.tables.joined(separator: ", ")). Hits are summed over workers and
      count from when the entry was compiled (tunnels, rules and flows: their own counters).
      Examples: gannetctl dump-flows --table fib --router r1 · gannetctl dump-flows --network net-a
      """)
  @OptionGroup var common: Common
  @Option(help: "Only this table.") var table: String?
  @Option(help: "Only entries of this network.") var network: String?
  @Option(help: "Only entries of this router.") var router: String?
  func run() throws {
    try common.run(.dumpFlows(DumpFlowsFilter(table: table, network: network, router: router)), as: [DumpFlowRow].self,
                   render: Render.dumpFlows)
  }
}
