import Buffers
import Tables

/// The node's SNAT sessions: one `SessionTable` per worker (each worker owns the sessions of
/// its slice of every router's port range, `NATPartition`) and the handoff rings between the
/// workers. `nat.max_sessions` is the node's total, divided equally among the workers (as
/// VPP sizes NAT44-ED per thread).
///
/// Thread safety: created and destroyed by the main thread while no worker runs; workers
/// write only their own table; the control thread reads every table through its seqlock.
struct WorkerSessions {
  let tables: [SessionTable]
  let handoff: Handoff

  init(capacity: Int, workers: Int, timeouts: NATTimeouts) {
    let share = (capacity + workers - 1) / workers
    tables = (0..<workers).map { _ in SessionTable(capacity: share, timeouts: timeouts) }
    handoff = Handoff(workers: workers)
  }

  var capacity: Int { tables.reduce(0) { $0 + $1.capacity } }
  var currentTimeouts: NATTimeouts { tables[0].currentTimeouts }
  func stat(_ s: SessionTable.Stat) -> UInt64 { tables.reduce(0) { $0 &+ $1.stat(s) } }
  /// A consistent copy of every live slot of every worker's table.
  func allSessions() -> [NATSession] { tables.flatMap { $0.allSessions() } }
  func isExpired(_ s: NATSession, now: UInt32) -> Bool { tables[0].isExpired(s, now: now) }
  func timeout(_ s: NATSession) -> UInt32 { tables[0].timeout(s) }

  /// After every worker stopped; mbufs still in a ring go back to their mempool.
  func destroy(release: (Packet) -> Void) {
    handoff.destroy(releaseMbuf: release)
    for t in tables { t.destroy() }
  }
}
