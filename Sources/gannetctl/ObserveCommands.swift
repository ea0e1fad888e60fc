import ArgumentParser
import Control
import ControlText
import Foundation

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
