import Compiler
import Control
import Foundation
import Pipeline
import Tables
import Wire

/// The control thread's table of learned MACs (runtime state: not persisted, rebuilt by
/// traffic after a restart).
///
/// Workers announce (bridge domain, MAC, interface, snapshot generation); `absorb` maps
/// that back to (network, port) through the compiler's stable numbering — an event whose
/// domain or interface index was given to another object after the event's snapshot is
/// ignored — and applies the network's limit. Aging: an entry not announced for half its network's aging time is
/// marked stale in the next snapshot, which makes the next frame from that MAC announce
/// it again; an entry still stale after another half is forgotten.
///
/// Thread safety: control thread only.
struct MACLearning {
  struct Key: Hashable { var network: String; var mac: MACAddress }
  struct Entry { var port: String; var lastSeen: Date; var stale: Bool }
  private(set) var entries: [Key: Entry] = [:]
  private(set) var refusedAtLimit: UInt64 = 0

  /// The learned MACs as compiler input.
  var facts: [NodeFacts.LearnedMAC] {
    entries.sorted { ($0.key.network, $0.key.mac) < ($1.key.network, $1.key.mac) }.map {
      NodeFacts.LearnedMAC(network: $0.key.network, mac: $0.key.mac, port: $0.value.port, stale: $0.value.stale)
    }
  }

  /// Applies events; returns true when the table changed (a snapshot is due).
  mutating func absorb(_ events: [EventRing.Event], state: ControlState, numbering a: IndexAssignment, now: Date) -> Bool {
    var changed = false
    let interfaces = a.interfaces.keys, networks = a.domains.keys
    for e in events where e.kind == .macSeen {
      let i = Int(e.interface), d = Int(e.key >> 48)
      guard a.interfaces.current(i, at: e.value), a.domains.current(d, at: e.value),
            case .port(let portID) = interfaces[i], let network = networks[d],
            let net = state.networks[network], net.learning,
            let port = state.ports[portID], port.network == network else { continue }
      let key = Key(network: network, mac: MACAddress(rawValue: e.key))
      // Static knowledge wins: ports' own MACs and l2population entries are never learned over.
      if state.ports.values.contains(where: { $0.network == network && $0.mac == key.mac })
        || state.fdb.contains(where: { $0.network == network && $0.mac == key.mac }) { continue }
      if var old = entries[key] {
        if old.port != port.id || old.stale { changed = true }
        old.port = port.id
        old.stale = false
        old.lastSeen = now
        entries[key] = old
      } else if entries.keys.filter({ $0.network == network }).count < net.learningLimit {
        entries[key] = Entry(port: port.id, lastSeen: now, stale: false)
        changed = true
      } else {
        refusedAtLimit += 1
      }
    }
    return changed
  }

  /// Marks and forgets by age; returns true when the table changed.
  mutating func age(state: ControlState, now: Date) -> Bool {
    var changed = false
    for (k, e) in entries {
      let half = Double(state.networks[k.network]?.agingSeconds ?? 0) / 2
      let idle = now.timeIntervalSince(e.lastSeen)
      if state.networks[k.network] == nil || idle >= 2 * half {
        entries[k] = nil
        changed = true
      } else if idle >= half && !e.stale {
        entries[k]?.stale = true
        changed = true
      }
    }
    return changed
  }

  /// Drops entries whose port or network went away or changed network.
  mutating func prune(_ state: ControlState) {
    entries = entries.filter { k, e in state.ports[e.port]?.network == k.network }
  }
}
