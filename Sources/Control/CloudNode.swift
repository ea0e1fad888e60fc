import Foundation
import Wire

/// What a node's cloud agent (`gannet-agent`) reports to its gannetd: whether it is
/// connected to etcd, the etcd revision it has seen and the one applied here, and the
/// objects and revisions it refused. gannetd shows it in `show node` and the metrics, and
/// counts a report older than `staleAfter` seconds as disconnected (the agent is gone).
public struct AgentStatus: Codable, Equatable, Sendable {
  public var connected: Bool
  public var endpoints: String
  /// The newest etcd revision the agent has read.
  public var revision: Int64
  /// The etcd revision this node's program was derived from.
  public var appliedRevision: Int64
  /// Objects in etcd the agent could not read (bad JSON, a key that differs from its
  /// object's id) and revisions whose state the protocol's rules refused, since it started.
  public var refusedObjects: UInt64
  public var refusedRevisions: UInt64
  public var lastError: String?
  /// Seconds since the agent's connection changed state.
  public var since: Double
  public static let staleAfter = 5.0
  public init(connected: Bool, endpoints: String, revision: Int64, appliedRevision: Int64, refusedObjects: UInt64, refusedRevisions: UInt64,
              lastError: String? = nil, since: Double = 0) {
    self.connected = connected
    self.endpoints = endpoints
    self.revision = revision
    self.appliedRevision = appliedRevision
    self.refusedObjects = refusedObjects
    self.refusedRevisions = refusedRevisions
    self.lastError = lastError
    self.since = since
  }
  enum CodingKeys: String, CodingKey {
    case connected, endpoints, revision, since
    case appliedRevision = "applied_revision", refusedObjects = "refused_objects", refusedRevisions = "refused_revisions", lastError = "last_error"
  }
}

extension ControlState {
  /// `desired` in place of this state, keeping this node's operator flows (they are the
  /// node's own, not the cloud's): checked with exactly the protocol's rules (`validated`).
  func replaced(by desired: ControlState) throws(ControlError) -> ControlState {
    var s = desired
    s.flows = flows
    s.generation = generation
    if let p = s.ports.values.first(where: { $0.node != nil }) {
      throw .bad("state.replace: port '\(p.id)' carries a node binding: a node's program has none (the agent resolves it)")
    }
    return try s.validated()
  }
}

/// `state.replace` on the wire without the untyped detour: a state of 100,000 ports is
/// encoded and decoded as `Codable` values in one pass (through `JSONSerialization` it took
/// most of a commit). The line is still read strictly: the request's and its args' fields
/// are exactly these, and the state is checked object by object by `validated`.
struct StateReplaceLine: Codable {
  struct Args: Codable {
    var state: ControlState
    var revision: Int64
  }
  var version: Int
  var op: String
  var args: Args

  /// The field names of a JSON object, for the strict check.
  struct Keys: Decodable {
    struct Key: CodingKey {
      var stringValue: String
      var intValue: Int? { nil }
      init?(stringValue: String) { self.stringValue = stringValue }
      init?(intValue: Int) { nil }
    }
    var names: Set<String>
    var args: Set<String>
    init(from d: Decoder) throws {
      let c = try d.container(keyedBy: Key.self)
      names = Set(c.allKeys.map(\.stringValue))
      let argsKey = Key(stringValue: "args")!
      args = c.contains(argsKey) ? Set(try c.nestedContainer(keyedBy: Key.self, forKey: argsKey).allKeys.map(\.stringValue)) : []
    }
  }

  /// The request if `data` is a `state.replace` line (nil for any other op).
  static func parse(_ data: Data) throws(ControlError) -> ControlRequest? {
    // Cheap test first: every other request goes the usual way.
    guard data.count > 4096 || String(decoding: data, as: UTF8.self).contains("state.replace") else { return nil }
    struct Head: Decodable { var op: String? }
    guard let head = try? JSONDecoder().decode(Head.self, from: data), head.op == "state.replace" else { return nil }
    let keys: Keys
    do { keys = try JSONDecoder().decode(Keys.self, from: data) } catch { throw .bad("request: not valid JSON") }
    if let extra = keys.names.subtracting(["version", "op", "args"]).sorted().first { throw .bad("request: unknown field '\(extra)'") }
    if let extra = keys.args.subtracting(["state", "revision"]).sorted().first { throw .bad("state.replace: unknown field '\(extra)'") }
    let line: StateReplaceLine
    do { line = try StrictDecoding.decode(StateReplaceLine.self, from: data) } catch let e as StrictDecoding.UnknownField {
      throw .bad("state.replace: \(e)")
    } catch {
      throw .bad("state.replace: not a valid request with a state: \(error)")
    }
    guard line.version == ControlProtocol.version else {
      throw ControlError("unsupported-version", "this gannetd speaks control protocol \(ControlProtocol.version), not \(line.version)")
    }
    guard line.args.revision >= 0 else { throw .bad("state.replace: field 'revision': must be 0 or more") }
    return .stateReplace(line.args.state, revision: line.args.revision)
  }
}

extension ControlRequest {
  /// The request as one line of the wire (without the newline).
  public func wireLine() throws -> Data {
    if case .stateReplace(let s, let revision) = self {
      return try JSONEncoder().encode(StateReplaceLine(version: ControlProtocol.version, op: "state.replace", args: .init(state: s, revision: revision)))
    }
    return try JSONSerialization.data(withJSONObject: json(), options: [.sortedKeys])
  }
}
