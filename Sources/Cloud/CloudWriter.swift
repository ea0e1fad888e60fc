import Control
import Foundation
import Wire

/// Changes to the cloud's desired state (`gannetctl --cloud`): the same requests as on a
/// node, checked with the same rules against the whole cloud, written as one etcd
/// transaction that succeeds only if nothing under `objects/` changed since it was read
/// (else read again and retry). Cloud-only rules: a port attached locally names a
/// registered node (`--node`); chassis come from the node registry, never by hand.
public struct CloudWriter: Sendable {
  public let etcd: EtcdClient
  public let prefix: String
  public init(etcd: EtcdClient, prefix: String = CloudKeys.defaultPrefix) {
    self.etcd = etcd
    self.prefix = prefix
  }

  public func read() async throws -> CloudSnapshot {
    let (kvs, revision) = try await etcd.range(prefix: prefix)
    return CloudSnapshot(prefix: prefix, kvs: kvs, revision: revision)
  }

  /// Applies `request` cloud-wide; the etcd revision written at.
  public func apply(_ request: ControlRequest) async throws -> Int64 {
    switch request {
    case .chassisSet, .chassisDelete:
      throw ControlError("bad-request", "chassis come from the node registry in the cloud (each node's agent registers its own)")
    case .stateReplace, .agentReport, .flowAdd, .flowDelete:
      throw ControlError("bad-request", "\(request.json()["op"] ?? "this request") is a node's own, not the cloud's")
    default: break
    }
    return try await change { s, _ in s = try s.applying(request) }
  }

  /// Re-binds every port of node `from` to node `to` (the operator's evacuation of a
  /// failed node): one transaction. The port keeps its attachment name.
  public func evacuate(_ from: String, to: String) async throws -> (revision: Int64, ports: [String]) {
    var moved: [String] = []
    let rev = try await change { s, _ in
      moved = s.ports.values.filter { $0.node == from }.map(\.id).sorted()
      for id in moved { s.ports[id]!.node = to }
    }
    return (rev, moved)
  }

  /// Removes a node's registration (a node taken out of the cloud for good).
  public func deleteNode(_ name: String) async throws -> Int64 {
    let snap = try await read()
    guard snap.nodes[name] != nil else { throw ControlError("not-found", "no node '\(name)' is registered") }
    if let p = snap.state.ports.values.map(\.id).sorted().first(where: { snap.state.ports[$0]!.node == name }) {
      throw ControlError("in-use", "port '\(p)' is bound to node '\(name)' (gannetctl --cloud … evacuate \(name) --to NODE)")
    }
    guard try await etcd.txn(unchangedUnder: prefix, since: snap.revision, [.delete(prefix + "nodes/" + name)]) else {
      throw ControlError("conflict", "the cloud changed while the node was being deleted; try again")
    }
    return snap.revision + 1
  }

  /// Reads, changes with `body`, checks the cloud-only rules, and writes what differs.
  func change(_ body: (inout ControlState, [String: NodeRecord]) throws -> Void) async throws -> Int64 {
    for _ in 0..<8 {
      let snap = try await read()
      var next = snap.state
      try body(&next, snap.nodes)
      for p in next.ports.values.sorted(by: { $0.id < $1.id }) where next.ports[p.id] != snap.state.ports[p.id] {
        switch (p.location, p.node) {
        case (.local, nil):
          throw ControlError("bad-request", "port '\(p.id)': a port attached locally needs the node it is bound to (--node NAME)")
        case (.remote, .some):
          throw ControlError("bad-request", "port '\(p.id)': --node binds a port attached locally (--local SPEC), not a remote one")
        case (_, let n?) where snap.nodes[n] == nil:
          throw ControlError("not-found", "port '\(p.id)': no node '\(n)' is registered (known: \(snap.nodes.keys.sorted().joined(separator: ", ")))")
        default: break
        }
      }
      let writes: [EtcdClient.Write] = try CloudSnapshot.changes(from: snap.state, to: next).sorted { $0.key < $1.key }.map {
        if let v = $0.value { .put(prefix + $0.key, v) } else { .delete(prefix + $0.key) }
      }
      if writes.isEmpty { return snap.revision }
      if try await etcd.txn(unchangedUnder: prefix + "objects/", since: snap.revision, writes) { return snap.revision + 1 }
    }
    throw ControlError("conflict", "the cloud kept changing while this change was written; try again")
  }
}
