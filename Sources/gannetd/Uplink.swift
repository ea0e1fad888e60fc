import Buffers
import Control
import Foundation
import IO
import NodeConfig
import Logging
import Pipeline
import Tables
import Wire

/// This node's port on the external (provider) network, on the control thread: the uplink
/// interface, ARP resolution of upstream gateways (RFC 826; never configured by hand), and
/// gratuitous ARP (RFC 5227 §3) for the addresses the node starts to serve — a floating IP
/// associated with or moved to a port here, or a router's external IP on its SNAT node —
/// so the upstream router updates its neighbour entry at once.
///
/// ARP requests for an upstream gateway carry, as sender, an address this node serves on the
/// external network (a hosted floating IP, or the SNAT external IP), never another node's.
/// Transmissions use a TX queue of the control thread's own (the port has one per worker
/// plus this one).
///
/// Thread safety: control thread only.
final class Uplink {
  let config: DaemonConfig.Uplink
  private let link: ControlPort
  var port: IO.Port { link.port }
  var mac: MACAddress { link.mac }
  private let log: Logger

  struct Neighbor { var mac: MACAddress; var updated: Date }
  private(set) var neighbors: [IPv4Address: Neighbor] = [:]
  private var lastRequest: [IPv4Address: Date] = [:]
  private(set) var requestsSent = 0
  private(set) var announcementsSent = 0
  /// Gratuitous ARPs still to repeat: address → (MAC announced, repeats left).
  private var pendingAnnouncements: [IPv4Address: (mac: MACAddress, left: Int)] = [:]
  let refreshSeconds: TimeInterval = 30
  let retrySeconds: TimeInterval = 1
  /// Each announcement is sent this many times, a tick apart (a lost frame must not leave
  /// the upstream pointing at the old node).
  let announcementRepeats = 3

  init(config: DaemonConfig.Uplink, workers: Int, mbufPool: OpaquePointer?, log: Logger) throws(ControlError) {
    self.config = config
    self.log = log
    link = try ControlPort(role: "uplink", interface: config.interface, mac: config.mac, workers: workers, mbufPool: mbufPool)
  }

  func close() { link.close() }

  func resolvedMAC(_ ip: IPv4Address) -> MACAddress? { neighbors[ip]?.mac }
  /// Resolved upstream MACs by IP (compiler input).
  var resolved: [IPv4Address: MACAddress] { neighbors.mapValues(\.mac) }

  /// Absorbs external-neighbour events. Returns true when the MAC of a wanted address
  /// appeared or changed (a new snapshot is due).
  func absorb(_ events: [EventRing.Event], wanted: Set<IPv4Address>) -> Bool {
    var changed = false
    let now = Date()
    for e in events where e.kind == .externalNeighbor {
      let ip = IPv4Address(UInt32(truncatingIfNeeded: e.key)), m = MACAddress(rawValue: e.value)
      guard wanted.contains(ip) else { continue }
      if neighbors[ip]?.mac != m {
        changed = true
        log.info("upstream neighbour", metadata: ["ip": "\(ip)", "mac": "\(m)"])
      }
      neighbors[ip] = Neighbor(mac: m, updated: now)
    }
    return changed
  }

  /// Asks for each wanted upstream (target → sender IP to use) that is unresolved (every
  /// `retrySeconds`) or due for a refresh; repeats pending announcements.
  func resolve(_ wanted: [IPv4Address: IPv4Address], now: Date = Date()) {
    for (target, sender) in wanted.sorted(by: { $0.key < $1.key }) {
      if let n = neighbors[target], now.timeIntervalSince(n.updated) < refreshSeconds { continue }
      if let t = lastRequest[target], now.timeIntervalSince(t) < retrySeconds { continue }
      lastRequest[target] = now
      link.sendARP(from: mac, sender: sender, target: target)
      requestsSent += 1
    }
    for (ip, a) in pendingAnnouncements.sorted(by: { $0.key < $1.key }) {
      link.sendARP(from: a.mac, sender: ip, target: ip)
      announcementsSent += 1
      pendingAnnouncements[ip] = a.left > 1 ? (a.mac, a.left - 1) : nil
    }
  }

  /// Announces `ip` at `mac` now and on the next ticks (gratuitous ARP request, RFC 5227 §3).
  func announce(_ ip: IPv4Address, mac: MACAddress) {
    link.sendARP(from: mac, sender: ip, target: ip)
    announcementsSent += 1
    pendingAnnouncements[ip] = (mac, announcementRepeats - 1)
    log.info("gratuitous ARP", metadata: ["ip": "\(ip)", "mac": "\(mac)"])
  }
}
