import Cloud
import Control
import Foundation
import Logging
import Synchronization
import Wire

/// One node's agent: registration under a lease, list-then-watch of the cloud's keys, and
/// this node's program applied to gannetd once per etcd revision that changes it.
///
/// - Connected: the node's record is in `nodes/NAME` and `alive/NAME` is held by a lease the
///   agent renews every TTL/3; the watch follows the prefix from the listed revision.
/// - A renewal that fails, a watch that breaks, etcd gone: `disconnected` (reported to
///   gannetd at once); gannetd keeps forwarding with the last program. The agent retries
///   every second; once etcd answers it registers again (a new lease) and resumes the watch
///   after the last revision seen (what changed while it was away, in order); if etcd
///   compacted that history away, it lists again and converges.
/// - The lease is renewed from the start of a session, also while a first list of a large
///   cloud is applied (a commit of 100,000 ports takes longer than the lease).
/// - An object that cannot be read is left out of the snapshot and counted once per write
///   (`refused_objects`); a program that gannetd's rules refuse is not applied at all
///   (`refused_revisions`): the node keeps its last program until a later revision is valid.
///
/// Thread safety: `run` is the only entry; its loops share `status` through a mutex.
final class NodeAgent: Sendable {
  let record: NodeRecord
  let etcd: EtcdClient
  let gannetd: ControlClient
  let prefix: String
  let leaseTTL: Int
  let log: Logger

  struct State {
    var status: AgentStatus
    var changedAt = Date()
    /// The program last applied to gannetd (nil: none yet, apply whatever comes) and the
    /// generation gannetd gave it: while gannetd is still at that generation, the next
    /// program goes as the delta between the two (`ControlState.delta`).
    var applied: ControlState?
    var appliedGeneration: UInt64?
    /// Refused keys with their values' reasons, to count each refusal once.
    var refusedKeys: [String: String] = [:]
    /// The cloud as last seen: a new session resumes watching after its revision (the
    /// changes missed while disconnected, no relist of the whole cloud) unless etcd has
    /// compacted that history away.
    var snapshot: CloudSnapshot?
  }
  let state: Mutex<State>

  init(record: NodeRecord, etcd: EtcdClient, gannetd: ControlClient, prefix: String, leaseTTL: Int, log: Logger) {
    self.record = record
    self.etcd = etcd
    self.gannetd = gannetd
    self.prefix = prefix
    self.leaseTTL = leaseTTL
    self.log = log
    state = Mutex(State(status: AgentStatus(connected: false, endpoints: etcd.endpoints.joined(separator: ","), revision: 0,
                                            appliedRevision: 0, refusedObjects: 0, refusedRevisions: 0)))
  }

  struct Compacted: Error {}
  struct LeaseLost: Error, CustomStringConvertible { var description: String { "the node's lease expired" } }

  func run() async {
    // Reports to gannetd every second, so it can tell a live agent from a dead one.
    let reporter = Task { [self] in
      while !Task.isCancelled {
        Self.reporter.async { self.report() }
        try? await Task.sleep(for: .seconds(1))
      }
    }
    while !Task.isCancelled {
      do {
        try await session()
      } catch is Compacted {
        state.withLock { $0.snapshot = nil }
        continue   // connected still: list again at once
      } catch {
        setConnected(false, error: "\(error)")
        try? await Task.sleep(for: .seconds(1))
      }
    }
    reporter.cancel()
  }

  /// One connected session: register; renew the lease, and (list and converge, or resume)
  /// then watch, until either fails.
  func session() async throws {
    let lease = try await etcd.grantLease(ttl: leaseTTL)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    try await etcd.put(prefix + "nodes/" + record.name, try enc.encode(record))
    try await etcd.put(prefix + "alive/" + record.name, Data(#"{"lease_ttl":\#(leaseTTL)}"#.utf8), lease: lease)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { [self] in
        while true {
          try await Task.sleep(for: .milliseconds(leaseTTL * 1000 / 3))
          guard try await etcd.keepAlive(lease) > 0 else { throw LeaseLost() }
        }
      }
      group.addTask { [self] in
        var snapshot: CloudSnapshot
        if let resumed = state.withLock({ $0.snapshot }) { snapshot = resumed } else { snapshot = try await list() }
        setConnected(true, error: nil)
        for try await update in etcd.watch(prefix: prefix, from: snapshot.revision + 1) {
          switch update {
          case .events(let events, let revision):
            for e in events { snapshot.apply(e) }
            snapshot.revision = revision
            await converge(snapshot)
            state.withLock { [snapshot] in $0.snapshot = snapshot }
          case .compacted(let r):
            // The history from the asked revision is gone: end the session, list again.
            log.info("watch history compacted at revision \(r): listing again")
            throw Compacted()
          }
        }
      }
      // Either loop ending ends the session (the other is cancelled).
      _ = try await group.next()
      group.cancelAll()
      throw EtcdClient.Failure("the session ended")
    }
  }

  /// Lists the whole prefix and converges on it.
  func list() async throws -> CloudSnapshot {
    let (kvs, revision) = try await etcd.range(prefix: prefix)
    let s = CloudSnapshot(prefix: prefix, kvs: kvs, revision: revision)
    await converge(s)
    state.withLock { $0.snapshot = s }
    return s
  }

  /// `converge` on a thread outside Swift's cooperative pool: the control socket blocks,
  /// and a commit of a large program takes seconds, during which the lease keep-alives and
  /// the watch must go on.
  func converge(_ s: CloudSnapshot) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      Self.applier.async {
        self.convergeBlocking(s)
        done.resume()
      }
    }
  }
  static let applier = DispatchQueue(label: "gannet-agent.apply")
  /// How long a commit of the node's program may take (seconds).
  static let commitTimeout = 600
  static let reporter = DispatchQueue(label: "gannet-agent.report")

  /// Applies this node's program at `s.revision` if it differs from the last one applied.
  func convergeBlocking(_ s: CloudSnapshot) {
    let program = s.program(for: record.name)
    let (fresh, same) = state.withLock { st -> ([(String, String)], Bool) in
      st.status.revision = s.revision
      var fresh: [(String, String)] = []
      for (k, why) in s.refused.sorted(by: { $0.key < $1.key }) where st.refusedKeys[k] != why { fresh.append((k, why)) }
      st.refusedKeys = s.refused
      st.status.refusedObjects += UInt64(fresh.count)
      if let f = fresh.last { st.status.lastError = "refused \(prefix)\(f.0): \(f.1)" }
      let same = st.applied == program
      if same { st.status.appliedRevision = s.revision }
      return (fresh, same)
    }
    for (k, why) in fresh { log.error("refused object \(prefix)\(k): \(why)") }
    if same { return }
    let (previous, generation) = state.withLock { ($0.applied, $0.appliedGeneration) }
    do {
      let reply: ChangeReply
      var how = "replaced"
      // The delta, when gannetd still holds the program it was computed from (nobody changed
      // the node by hand since); else, or when it is refused, the whole program.
      if let previous, let generation, let delta = previous.delta(to: program),
         (try? gannetd.call(.show(.node), as: NodeReply.self).result.generation) == generation,
         let r = delta.isEmpty ? ChangeReply(generation: generation) : try? gannetd.call(.batch(delta), as: ChangeReply.self, timeoutSeconds: Self.commitTimeout).result {
        reply = r
        how = "\(delta.count) changes"
      } else {
        reply = try gannetd.call(.stateReplace(program, revision: s.revision), as: ChangeReply.self, timeoutSeconds: Self.commitTimeout).result
      }
      state.withLock {
        $0.applied = program
        $0.appliedGeneration = reply.generation
        $0.status.appliedRevision = s.revision
      }
      log.info("applied", metadata: ["revision": "\(s.revision)", "as": "\(how)", "ports": "\(program.ports.count)", "chassis": "\(program.chassis.count)"])
    } catch {
      state.withLock {
        $0.status.refusedRevisions += 1
        $0.status.lastError = "revision \(s.revision) refused: \(error.code): \(error.message)"
      }
      log.error("revision \(s.revision) refused by gannetd: \(error.code): \(error.message)")
    }
    report()
  }

  func setConnected(_ connected: Bool, error: String?) {
    let changed = state.withLock { st -> Bool in
      let changed = st.status.connected != connected
      if changed { st.changedAt = Date() }
      st.status.connected = connected
      if let error { st.status.lastError = error }
      return changed
    }
    if changed { log.info(connected ? "connected to etcd" : "disconnected from etcd: \(error ?? "")") }
    Self.reporter.async { self.report() }
  }

  func report() {
    let status = state.withLock { st -> AgentStatus in
      var s = st.status
      s.since = (Date().timeIntervalSince(st.changedAt) * 10).rounded() / 10
      return s
    }
    do { _ = try gannetd.call(.agentReport(status), as: ChangeReply.self) } catch {
      log.warning("gannetd does not take the agent's report: \(error.message)")
    }
  }
}
