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
