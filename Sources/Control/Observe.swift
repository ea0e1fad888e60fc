import Foundation
import Wire

// Capture and trace: operational requests (not persisted, never in a batch) and their replies.

/// `capture.start`: copy the frames a port receives and/or sends that a BPF filter accepts
/// into a pcap file, until `count` frames or `seconds` have passed.
public struct CaptureRequest: Equatable, Sendable {
  public enum Direction: String, Sendable, CaseIterable { case rx, tx, both }
  /// A port id, or `underlay` / `uplink`.
  public var port: String
  public var direction: Direction
  /// A libpcap filter expression (`tcpdump`'s syntax); nil: every frame.
  public var filter: String?
  public var count: Int
  public var seconds: Int
  /// Where gannetd writes the pcap (an absolute path; replaced if it exists).
  public var file: String
  public init(port: String, direction: Direction = .both, filter: String? = nil, count: Int = 100, seconds: Int = 60, file: String) {
    self.port = port
    self.direction = direction
    self.filter = filter
    self.count = count
    self.seconds = seconds
    self.file = file
  }
}

/// `trace.start`: mark the next `count` packets a port receives that a BPF filter accepts.
public struct TraceRequest: Equatable, Sendable {
  public var port: String
  public var filter: String?
  public var count: Int
  public init(port: String, filter: String? = nil, count: Int = 10) {
    self.port = port
    self.filter = filter
    self.count = count
  }
}

/// `trace.packet`: run one frame through a private copy of the graph (a dry run). The frame
/// is `frame` (bytes), or built from `packet` (`ip SRC > DST [tcp|udp SPORT > DPORT [flags
/// S]|icmp]`) with the port's MAC as source and, as destination, the MAC of the port on the
/// same network that has DST, else the network's router interface.
public struct TracePacketRequest: Equatable, Sendable {
  public var port: String
  public var packet: String?
  public var frame: [UInt8]?
  /// `live` (default): the connection tracking state is the node's, read and not written;
  /// `new`: as if no connection were tracked.
  public var ctState: String
  public init(port: String, packet: String? = nil, frame: [UInt8]? = nil, ctState: String = "live") {
    self.port = port
    self.packet = packet
    self.frame = frame
    self.ctState = ctState
  }
}

extension ControlRequest {
  static let observeOps: Set<String> = ["capture.start", "capture.status", "capture.stop", "trace.start", "trace.show", "trace.stop",
                                        "trace.packet"]

  static func parseObserve(_ op: String, _ a: inout StrictObject) throws(ControlError) -> ControlRequest {
    switch op {
    case "capture.start":
      let port = try a.identifier("port")
      let dirText = try a.optionalString("direction") ?? "both"
      guard let direction = CaptureRequest.Direction(rawValue: dirText) else {
        throw .bad("\(op): field 'direction': '\(dirText)' is not rx, tx or both")
      }
      let filter = try a.optionalString("filter")
      let count = try a.optionalInt("count", 1...1_000_000) ?? 100
      let seconds = try a.optionalInt("seconds", 1...86_400) ?? 60
      let file = try a.string("file")
      guard file.hasPrefix("/") else { throw .bad("\(op): field 'file': '\(file)' is not an absolute path") }
      return .captureStart(CaptureRequest(port: port, direction: direction, filter: filter, count: count, seconds: seconds, file: file))
    case "capture.status": return .captureStatus
    case "capture.stop": return .captureStop
    case "trace.start":
      return .traceStart(TraceRequest(port: try a.identifier("port"), filter: try a.optionalString("filter"),
                                      count: try a.optionalInt("count", 1...1000) ?? 10))
    case "trace.show": return .traceShow
    case "trace.stop": return .traceStop
    default:
      let port = try a.identifier("port")
      let packet = try a.optionalString("packet")
      var frame: [UInt8]?
      if let hex = try a.optionalString("frame") {
        guard let bytes = Self.hexBytes(hex), bytes.count >= 14, bytes.count <= 9000 else {
          throw .bad("\(op): field 'frame': not 14 to 9000 bytes of hexadecimal")
        }
        frame = bytes
      }
      guard (packet == nil) != (frame == nil) else { throw .bad("\(op): give 'packet' or 'frame', one of them") }
      let ct = try a.optionalString("ct_state") ?? "live"
      guard ["live", "new"].contains(ct) else { throw .bad("\(op): field 'ct_state': '\(ct)' is not live or new") }
      return .tracePacket(TracePacketRequest(port: port, packet: packet, frame: frame, ctState: ct))
    }
  }

  /// Hexadecimal bytes, spaces and colons ignored; nil when not hexadecimal.
  public static func hexBytes(_ text: String) -> [UInt8]? {
    let digits = text.filter { !$0.isWhitespace && $0 != ":" }
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var i = digits.startIndex
    while i < digits.endIndex {
      let j = digits.index(i, offsetBy: 2)
      guard let b = UInt8(digits[i..<j], radix: 16) else { return nil }
      out.append(b)
      i = j
    }
    return out
  }

  var observeArgs: [String: Any] {
    switch self {
    case .captureStart(let c):
      var d: [String: Any] = ["port": c.port, "direction": c.direction.rawValue, "count": c.count, "seconds": c.seconds, "file": c.file]
      if let f = c.filter { d["filter"] = f }
      return d
    case .traceStart(let t):
      var d: [String: Any] = ["port": t.port, "count": t.count]
      if let f = t.filter { d["filter"] = f }
      return d
    case .tracePacket(let t):
      var d: [String: Any] = ["port": t.port, "ct_state": t.ctState]
      if let p = t.packet { d["packet"] = p }
      if let f = t.frame { d["frame"] = f.map { String(format: "%02x", $0) }.joined() }
      return d
    default: return [:]
    }
  }
}

/// What `capture.*` returns: the capture running or last finished.
public struct CaptureReply: Codable, Sendable, Equatable {
  /// `running`, `done` (count reached), `timed-out`, `stopped` or `idle` (none yet).
  public var state: String
  public var port: String?
  public var direction: String?
  public var filter: String?
  public var file: String?
  public var wanted: Int
  public var written: Int
  /// Frames the workers could not hand over (their capture ring was full).
  public var lost: Int
  enum CodingKeys: String, CodingKey { case state, port, direction, filter, file, wanted, written, lost }
  public init(state: String, port: String? = nil, direction: String? = nil, filter: String? = nil, file: String? = nil, wanted: Int = 0,
              written: Int = 0, lost: Int = 0) {
    self.state = state
    self.port = port
    self.direction = direction
    self.filter = filter
    self.file = file
    self.wanted = wanted
    self.written = written
    self.lost = lost
  }
}

/// One node's decision about one traced packet (live or dry run).
public struct TraceStep: Codable, Sendable, Equatable {
  /// Nanoseconds since the packet's first record.
  public var nanoseconds: UInt64
  /// The node's name (`ethernet-input`, …; `rx` for the record made as the frame arrived).
  public var node: String
  /// Where the packet went next; nil at a node that consumed it.
  public var next: String?
  /// The drop reason's name, when the node dropped it.
  public var drop: String?
  public var inPort: String
  /// The port a frame leaves by, at port-output.
  public var outPort: String?
  public var generation: UInt64
  /// The frame as the node left it, in one line.
  public var frame: String
  /// What the node used, when it says more than `next` (the FDB entry, the route, …).
  public var detail: String?
  enum CodingKeys: String, CodingKey {
    case nanoseconds, node, next, drop, generation, frame, detail
    case inPort = "in_port", outPort = "out_port"
  }
  public init(nanoseconds: UInt64, node: String, next: String?, drop: String?, inPort: String, outPort: String?, generation: UInt64,
              frame: String, detail: String?) {
    self.nanoseconds = nanoseconds
    self.node = node
    self.next = next
    self.drop = drop
    self.inPort = inPort
    self.outPort = outPort
    self.generation = generation
    self.frame = frame
    self.detail = detail
  }
}

public struct TracedPacket: Codable, Sendable, Equatable {
  public var id: UInt32
  public var worker: Int
  public var steps: [TraceStep]
  public init(id: UInt32, worker: Int, steps: [TraceStep]) {
    self.id = id
    self.worker = worker
    self.steps = steps
  }
}

/// A frame a dry run would have sent.
public struct TraceOutput: Codable, Sendable, Equatable {
  public var port: String
  public var frame: String
  public var hex: String
  public init(port: String, frame: String, hex: String) {
    self.port = port
    self.frame = frame
    self.hex = hex
  }
}

/// What `trace.*` returns.
public struct TraceReply: Codable, Sendable, Equatable {
  /// `running`, `done` (every marked packet recorded), `stopped`, `idle`, or `dry-run`.
  public var state: String
  public var port: String?
  public var filter: String?
  public var wanted: Int
  /// Records the workers could not hand over (their trace ring was full).
  public var lost: Int
  public var packets: [TracedPacket]
  /// Dry run: what would have been sent, and where.
  public var outputs: [TraceOutput]?
  public init(state: String, port: String? = nil, filter: String? = nil, wanted: Int = 0, lost: Int = 0, packets: [TracedPacket] = [],
              outputs: [TraceOutput]? = nil) {
    self.state = state
    self.port = port
    self.filter = filter
    self.wanted = wanted
    self.lost = lost
    self.packets = packets
    self.outputs = outputs
  }
}

/// `dump.flows`: which compiled entries to list.
public struct DumpFlowsFilter: Equatable, Sendable {
  public static let tables = ["l2", "fib", "neighbors", "tunnels", "acl", "flows"]
  public var table: String?
  public var network: String?
  public var router: String?
  public init(table: String? = nil, network: String? = nil, router: String? = nil) {
    self.table = table
    self.network = network
    self.router = router
  }
}

/// One compiled table entry: match → action, its hits on this node (summed over workers,
/// since the entry was compiled; nil where the table counts none) and the object it comes
/// from (as OVN tags flows with cookies).
public struct DumpFlowRow: Codable, Sendable, Equatable {
  public var table: String
  public var match: String
  public var action: String
  public var object: String
  public var packets: UInt64?
  public var bytes: UInt64?
  public init(table: String, match: String, action: String, object: String, packets: UInt64?, bytes: UInt64?) {
    self.table = table
    self.match = match
    self.action = action
    self.object = object
    self.packets = packets
    self.bytes = bytes
  }
}

extension ControlRequest {
  static func parseDumpFlows(_ a: inout StrictObject) throws(ControlError) -> ControlRequest {
    var f = DumpFlowsFilter()
    if let t = try a.optionalString("table") {
      guard DumpFlowsFilter.tables.contains(t) else {
        throw .bad("dump.flows: field 'table': '\(t)' is not one of \(DumpFlowsFilter.tables.joined(separator: ", "))")
      }
      f.table = t
    }
    f.network = try a.optionalIdentifier("network")
    f.router = try a.optionalIdentifier("router")
    return .dumpFlows(f)
  }

  var dumpFlowsArgs: [String: Any] {
    guard case .dumpFlows(let f) = self else { return [:] }
    var d: [String: Any] = [:]
    if let v = f.table { d["table"] = v }
    if let v = f.network { d["network"] = v }
    if let v = f.router { d["router"] = v }
    return d
  }
}
