import Buffers
import Compiler
import Control
import Foundation
import IO
import NodeConfig
import Logging
import Pipeline
import Tables
import Wire

/// This node's VTEP, on the control thread: the underlay port, a stable index per tunnel
/// (remote tunnel IP), and ARP resolution of each tunnel's underlay next hop (RFC 826):
/// the remote VTEP itself when it is on the underlay subnet, else the configured gateway.
/// A next hop's MAC is only ever learned from ARP, never guessed.
///
/// The control thread transmits its ARP requests on a TX queue of its own (the port is
/// opened with one queue per worker plus this one), so it never shares a queue with a worker.
///
/// Thread safety: control thread only. Workers see the result through the snapshot.
final class Underlay {
  let config: DaemonConfig.Underlay
  private let link: ControlPort
  var port: IO.Port { link.port }
  var mac: MACAddress { link.mac }
  let localIP: IPv4Address
  private let log: Logger

  /// Remote VTEPs of the published snapshot's tunnels (whose next hops are resolved).
  private(set) var remotes: Set<IPv4Address> = []
  /// Counter values when each tunnel index was (re)assigned: shown counters start from zero.
  private var baselines = CounterBaselines()

  struct Neighbor { var mac: MACAddress; var updated: Date }
  private(set) var neighbors: [IPv4Address: Neighbor] = [:]
  private var lastRequest: [IPv4Address: Date] = [:]
  private(set) var requestsSent = 0
  /// A resolved entry is refreshed (a new request) after this long.
  let refreshSeconds: TimeInterval = 30
  /// An unanswered request is repeated after this long.
  let retrySeconds: TimeInterval = 1

  init(config: DaemonConfig.Underlay, localIP: IPv4Address, workers: Int, mbufPool: OpaquePointer?, log: Logger)
    throws(ControlError)
  {
    self.config = config
    self.localIP = localIP
    self.log = log
    link = try ControlPort(role: "underlay", interface: config.interface, mac: config.mac, workers: workers, mbufPool: mbufPool)
  }

  func close() { link.close() }

  /// The underlay as the compiler sees it (addresses, next-hop rule).
  var facts: NodeFacts.Underlay {
    NodeFacts.Underlay(mac: mac, localIP: localIP, prefixLength: config.prefixLength, gateway: config.gateway)
  }

  /// Where frames for `remote` go on the underlay.
  func nextHop(_ remote: IPv4Address) -> IPv4Address { facts.nextHop(remote) }

  /// Resolved next hops by IP (compiler input).
  var resolved: [IPv4Address: MACAddress] { neighbors.mapValues(\.mac) }

  /// Adopts the tunnels of a published snapshot: remembers the remotes to resolve, and the
  /// counters of every index given out at `generation` (a new tunnel counts from zero).
  func adopt(_ tunnels: StableIndices<IPv4Address>, generation: UInt64, counters: (Int) -> [UInt64]) {
    remotes = Set(tunnels.index.keys)
    baselines.adopt(tunnels, generation: generation, read: counters)
  }

  /// A tunnel's counters since it was set up.
  func counters(of index: Int, now: [UInt64]) -> [UInt64] { baselines.since(index, now) }

  /// The next hop MAC of a tunnel, when resolved.
  func resolvedMAC(_ remote: IPv4Address) -> MACAddress? { neighbors[nextHop(remote)]?.mac }

  /// Absorbs neighbour events from the workers. Returns true when the MAC of a next hop
  /// some tunnel uses appeared or changed (a new snapshot is due).
  func absorb(_ events: [EventRing.Event]) -> Bool {
    let needed = Set(remotes.map(nextHop))
    var changed = false
    let now = Date()
    for e in events where e.kind == .neighbor {
      let ip = IPv4Address(UInt32(truncatingIfNeeded: e.key)), m = MACAddress(rawValue: e.value)
      guard facts.onLink(ip) || ip == config.gateway else { continue }
      if needed.contains(ip) && neighbors[ip]?.mac != m {
        changed = true
        log.info("underlay neighbour", metadata: ["ip": "\(ip)", "mac": "\(m)"])
      }
      neighbors[ip] = Neighbor(mac: m, updated: now)
    }
    return changed
  }

  /// Sends ARP requests for next hops that are unresolved (every `retrySeconds`) or due
  /// for a refresh (after `refreshSeconds`).
  func resolve(now: Date = Date()) {
    for hop in Set(remotes.map(nextHop)).sorted() {
      if let n = neighbors[hop], now.timeIntervalSince(n.updated) < refreshSeconds { continue }
      if let t = lastRequest[hop], now.timeIntervalSince(t) < retrySeconds { continue }
      lastRequest[hop] = now
      sendARP(target: hop)
    }
  }

  /// Announces the tunnel IP (gratuitous ARP, RFC 5227 §3), so peers learn this VTEP's MAC.
  func announce() { sendARP(target: localIP) }

  private func sendARP(target: IPv4Address) {
    link.sendARP(from: mac, sender: localIP, target: target)
    requestsSent += 1
  }
}
