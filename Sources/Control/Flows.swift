import Foundation
import Wire

/// An operator flow (the project card's "program flows"): a rule of a small priority table
/// that every frame entering an interface meets before the pipeline. The highest priority
/// whose match holds decides (ties: the lower id); a frame no flow matches goes on as if
/// there were none. Typical uses: block an attacking prefix now, mirror a VM's traffic to a
/// capture port.
///
/// Match fields left nil match anything. IPv4 fields (prefixes, protocol, L4 ports) match
/// IPv4 frames only; L4 ports need protocol tcp or udp.
public struct OperatorFlow: Codable, Equatable, Sendable {
  public enum Action: String, Codable, Sendable, CaseIterable {
    /// Dropped before the pipeline (`operator-flow-drop`).
    case drop
    /// Goes on into the pipeline (overrides a lower-priority drop).
    case `continue`
    /// A copy goes out of `target` as it arrived; the frame itself goes on.
    case mirror
    /// Goes out of `target` as it arrived, instead of into the pipeline.
    case redirect
  }
  public var id: String
  public var priority: Int
  /// A port id, `underlay` or `uplink`; nil: every interface of the node.
  public var inPort: String?
  public var sourceMAC: MACAddress?
  public var destinationMAC: MACAddress?
  public var etherType: Int?
  /// Frames with an 802.1Q tag of this VLAN id.
  public var vlan: Int?
  public var source: IPv4Prefix?
  public var destination: IPv4Prefix?
  /// IP protocol number.
  public var proto: Int?
  public var sourcePortMin: Int?
  public var sourcePortMax: Int?
  public var destinationPortMin: Int?
  public var destinationPortMax: Int?
  public var action: Action
  /// mirror, redirect: where the frames go (a port id, `underlay` or `uplink`).
  public var target: String?

  public init(id: String, priority: Int = 100, inPort: String? = nil, action: Action, target: String? = nil) {
    self.id = id
    self.priority = priority
    self.inPort = inPort
    self.action = action
    self.target = target
  }

  enum CodingKeys: String, CodingKey {
    case id, priority, vlan, source, destination, proto, action, target
    case inPort = "in_port", sourceMAC = "src_mac", destinationMAC = "dst_mac", etherType = "ether_type"
    case sourcePortMin = "src_port_min", sourcePortMax = "src_port_max", destinationPortMin = "dst_port_min"
    case destinationPortMax = "dst_port_max"
  }

  /// The interfaces a flow names (in_port, target), for `in-use` checks.
  public var ports: [String] { [inPort, target].compactMap { $0 } }

  /// One line: match → action.
  public var matchText: String {
    var m: [String] = []
    if let v = inPort { m.append("in_port=\(v)") }
    if let v = sourceMAC { m.append("dl_src=\(v)") }
    if let v = destinationMAC { m.append("dl_dst=\(v)") }
    if let v = vlan { m.append("dl_vlan=\(v)") }
    if let v = etherType { m.append(String(format: "dl_type=0x%04x", v)) }
    if let v = source { m.append("nw_src=\(v)") }
    if let v = destination { m.append("nw_dst=\(v)") }
    if let v = proto { m.append("nw_proto=\(v)") }
    if let lo = sourcePortMin { m.append("tp_src=\(lo)" + (sourcePortMax.map { $0 == lo ? "" : "-\($0)" } ?? "")) }
    if let lo = destinationPortMin { m.append("tp_dst=\(lo)" + (destinationPortMax.map { $0 == lo ? "" : "-\($0)" } ?? "")) }
    return m.isEmpty ? "any" : m.joined(separator: ",")
  }
  public var actionText: String { target.map { "\(action.rawValue):\($0)" } ?? action.rawValue }
}

extension ControlRequest {
  static func parseFlow(_ op: String, _ a: inout StrictObject) throws(ControlError) -> ControlRequest {
    guard op == "flow.add" else { return .flowDelete(id: try a.identifier("id")) }
    let actionText = try a.string("action")
    guard let action = OperatorFlow.Action(rawValue: actionText) else {
      throw .bad("\(op): field 'action': '\(actionText)' is not drop, continue, mirror or redirect")
    }
    var f = OperatorFlow(id: try a.identifier("id"), priority: try a.optionalInt("priority", 0...65535) ?? 100,
                         inPort: try a.optionalIdentifier("in_port"), action: action, target: try a.optionalIdentifier("target"))
    f.sourceMAC = try a.optionalMAC("src_mac")
    f.destinationMAC = try a.optionalMAC("dst_mac")
    f.etherType = try a.optionalInt("ether_type", 0x0600...0xffff)
    f.vlan = try a.optionalInt("vlan", 0...4095)
    f.source = try optionalPrefix(&a, "src", op: op)
    f.destination = try optionalPrefix(&a, "dst", op: op)
    if let text = try a.optionalString("proto") {
      guard let p = L4Match.proto(text), let n = p else { throw .bad("\(op): field 'proto': '\(text)' is not tcp, udp, icmp or 0-255") }
      f.proto = Int(n)
    }
    f.sourcePortMin = try a.optionalInt("src_port_min", 0...65535)
    f.sourcePortMax = try a.optionalInt("src_port_max", 0...65535)
    f.destinationPortMin = try a.optionalInt("dst_port_min", 0...65535)
    f.destinationPortMax = try a.optionalInt("dst_port_max", 0...65535)
    return .flowAdd(f)
  }

  var flowArgs: [String: Any] {
    switch self {
    case .flowAdd(let f):
      var d: [String: Any] = ["id": f.id, "priority": f.priority, "action": f.action.rawValue]
      if let v = f.inPort { d["in_port"] = v }
      if let v = f.target { d["target"] = v }
      if let v = f.sourceMAC { d["src_mac"] = v.description }
      if let v = f.destinationMAC { d["dst_mac"] = v.description }
      if let v = f.etherType { d["ether_type"] = v }
      if let v = f.vlan { d["vlan"] = v }
      if let v = f.source { d["src"] = v.description }
      if let v = f.destination { d["dst"] = v.description }
      if let v = f.proto { d["proto"] = L4Match(proto: UInt8(v)).protocolName }
      if let v = f.sourcePortMin { d["src_port_min"] = v }
      if let v = f.sourcePortMax { d["src_port_max"] = v }
      if let v = f.destinationPortMin { d["dst_port_min"] = v }
      if let v = f.destinationPortMax { d["dst_port_max"] = v }
      return d
    case .flowDelete(let id): return ["id": id]
    default: return [:]
    }
  }
}

extension ControlState {
  /// The most operator flows a node holds.
  public static let maxFlows = 1024

  mutating func applyFlow(_ r: ControlRequest) throws(ControlError) {
    switch r {
    case .flowAdd(let f):
      guard flows[f.id] == nil else { throw ControlError("exists", "flow '\(f.id)' exists") }
      guard flows.count < Self.maxFlows else { throw ControlError("conflict", "more than \(Self.maxFlows) flows") }
      for name in f.ports where name != "underlay" && name != "uplink" {
        guard let p = ports[name] else { throw ControlError("not-found", "flow '\(f.id)': no port '\(name)'") }
        guard case .local = p.location else { throw ControlError("conflict", "flow '\(f.id)': port '\(name)' is not on this node") }
      }
      switch f.action {
      case .mirror, .redirect:
        guard let t = f.target else { throw .bad("flow '\(f.id)': \(f.action.rawValue) needs a target") }
        guard t != f.inPort else { throw ControlError("conflict", "flow '\(f.id)': the target is the port the frames come from") }
      case .drop, .continue:
        guard f.target == nil else { throw .bad("flow '\(f.id)': \(f.action.rawValue) takes no target") }
      }
      let ipFields = f.source != nil || f.destination != nil || f.proto != nil
      if ipFields, let t = f.etherType, t != 0x0800 {
        throw .bad(String(format: "flow '\(f.id)': IPv4 fields with ether_type 0x%04x", t))
      }
      let l4 = [f.sourcePortMin, f.sourcePortMax, f.destinationPortMin, f.destinationPortMax].contains { $0 != nil }
      if l4 && f.proto != 6 && f.proto != 17 { throw .bad("flow '\(f.id)': L4 ports need protocol tcp or udp") }
      for (lo, hi, name) in [(f.sourcePortMin, f.sourcePortMax, "src_port"), (f.destinationPortMin, f.destinationPortMax, "dst_port")] {
        if hi != nil && lo == nil { throw .bad("flow '\(f.id)': \(name)_max without \(name)_min") }
        if let lo, let hi, lo > hi { throw .bad("flow '\(f.id)': \(name)_min \(lo) > \(name)_max \(hi)") }
      }
      flows[f.id] = f
    case .flowDelete(let id):
      guard flows[id] != nil else { throw ControlError("not-found", "no flow '\(id)'") }
      flows[id] = nil
    default: break
    }
  }

  /// A port that a flow names cannot be deleted or moved off the node.
  func checkNoFlowNames(port id: String) throws(ControlError) {
    if let f = flows.values.sorted(by: { $0.id < $1.id }).first(where: { $0.ports.contains(id) }) {
      throw ControlError("in-use", "port '\(id)' is used by flow '\(f.id)'")
    }
  }
}

/// `show flows`, `flow list`: one operator flow with its hits on this node (summed over
/// workers, since the flow was added).
public struct FlowRow: Codable, Sendable, Equatable {
  public var id: String
  public var priority: Int
  public var match: String
  public var action: String
  /// The flow applies nowhere now: its port or target has no open interface.
  public var inactive: Bool
  public var packets: UInt64
  public var bytes: UInt64
  public init(id: String, priority: Int, match: String, action: String, inactive: Bool, packets: UInt64, bytes: UInt64) {
    self.id = id
    self.priority = priority
    self.match = match
    self.action = action
    self.inactive = inactive
    self.packets = packets
    self.bytes = bytes
  }
}
