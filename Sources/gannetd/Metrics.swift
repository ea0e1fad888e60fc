import Control
import Foundation
import Hummingbird
import Logging
import Prometheus

/// The Prometheus endpoint (`metrics.listen`): `GET /metrics` answers with every counter
/// of the node in Prometheus' text format (version 0.0.4), names after Prometheus' rules
/// (`gannet_port_rx_packets_total{port="vm1"}`).
///
/// It is a client of gannetd's own control socket: each scrape asks for `show counters`,
/// `runtime`, `drops`, `tunnels`, `nat`, `conntrack`, `security_groups`, `node` and `state`
/// and renders them into a fresh registry (the values are totals the data plane keeps; the
/// registry only formats them). So it reads nothing the control thread owns, and its HTTP
/// server (Hummingbird, on SwiftNIO's threads) never runs on a worker's core.
///
/// Thread safety: `render` may run on any thread; it only opens socket connections.
struct MetricsExporter: Sendable {
  let socket: String
  let host: String
  let port: Int

  /// Starts serving in the background; the task ends when cancelled (at shutdown).
  func start(log: Logger) -> Task<Void, Never> {
    let router = Router()
    let exporter = self
    router.get("metrics") { _, _ -> Response in
      let text = await withCheckedContinuation { c in
        DispatchQueue.global().async { c.resume(returning: exporter.render()) }
      }
      return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                      body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "gannetd"),
                          logger: Logger(label: "gannet.metrics"))
    return Task.detached {
      do { try await app.run() } catch { log.error("metrics endpoint \(exporter.host):\(exporter.port) stopped: \(error)") }
    }
  }

  /// The exposition text; a family whose request fails is left out (and named in
  /// `gannet_scrape_errors`).
  func render() -> String {
    let client = ControlClient(path: socket)
    let r = PrometheusCollectorRegistry()
    var errors = 0
    func get<R: Decodable>(_ q: ControlRequest, _ t: R.Type) -> R? {
      do { return try client.call(q, as: t).result } catch {
        errors += 1
        return nil
      }
    }
    func counter(_ name: String, _ labels: [(String, String)], _ value: UInt64, _ help: String) {
      r.makeCounter(name: name, labels: labels, help: help).increment(by: Int64(clamping: value))
    }
    func gauge(_ name: String, _ labels: [(String, String)], _ value: Double, _ help: String) {
      r.makeGauge(name: name, labels: labels, help: help).set(value)
    }
    if let n = get(.show(.node), NodeReply.self) {
      gauge("gannet_build_info", [("control_protocol", "\(ControlProtocol.version)"), ("role", n.role), ("node", n.name)], 1,
            "Constant 1, labelled with what this gannetd is.")
      gauge("gannet_config_generation", [], Double(n.generation), "Generation of the configuration in force (one per committed change).")
      gauge("gannet_workers", [], Double(n.workers), "Poll-mode workers.")
      counter("gannet_control_commits_total", [], n.commits, "Changes committed through the control socket.")
      counter("gannet_control_commits_refused_total", [], n.commitsRefused, "Change requests refused (nothing applied).")
      if let a = n.agent {
        gauge("gannet_agent_connected", [], a.connected ? 1 : 0, "1 while the cloud agent is connected to etcd and reporting.")
        gauge("gannet_agent_revision", [], Double(a.revision), "Newest etcd revision the cloud agent has read.")
        gauge("gannet_agent_applied_revision", [], Double(a.appliedRevision), "etcd revision this node's program was derived from.")
        counter("gannet_agent_refused_objects_total", [], a.refusedObjects, "Objects in etcd the cloud agent could not read.")
        counter("gannet_agent_refused_revisions_total", [], a.refusedRevisions, "etcd revisions whose state the protocol's rules refused.")
      }
      r.makeCounter(name: "gannet_control_commit_seconds_total", labels: [], help: "Time the committed changes took (validate, compile, persist, publish).")
        .increment(by: n.commitSeconds)
    }
    if let s = get(.show(.state), ControlState.self) {
      for (kind, count) in [("networks", s.networks.count), ("ports", s.ports.count), ("routers", s.routers.count),
                            ("floating_ips", s.floatingIPs.count), ("security_groups", s.securityGroups.count),
                            ("security_lists", s.securityLists.count)] {
        gauge("gannet_objects", [("kind", kind)], Double(count), "Configured objects by kind.")
      }
    }
    if let c = get(.show(.counters), CountersReply.self) {
      for p in c.ports {
        let l = [("port", p.port), ("interface", p.interface)]
        counter("gannet_port_rx_packets_total", l, p.rxPackets, "Packets received on a port.")
        counter("gannet_port_rx_bytes_total", l, p.rxBytes, "Bytes received on a port.")
        counter("gannet_port_tx_packets_total", l, p.txPackets, "Packets transmitted on a port.")
        counter("gannet_port_tx_bytes_total", l, p.txBytes, "Bytes transmitted on a port.")
        counter("gannet_port_rx_super_frames_total", l, p.rxSuperFrames, "TSO/GSO super-frames received and segmented in software.")
        counter("gannet_port_tx_super_frames_total", l, p.txSuperFrames, "Runs of received segments sent as one super-frame again.")
      }
    }
    if let drops = get(.show(.drops), [DropRow].self) {
      for d in drops {
        counter("gannet_drops_total", [("where", d.location), ("reason", d.reason)], d.count, "Packets dropped, by where and why.")
      }
    }
    if let rt = get(.show(.runtime), RuntimeReply.self) {
      for w in rt.workers {
        let wl = [("worker", "\(w.worker)")]
        counter("gannet_worker_rounds_total", wl, w.rounds, "Poll rounds of a worker.")
        counter("gannet_worker_busy_rounds_total", wl, w.busyRounds, "Poll rounds that found packets.")
        gauge("gannet_worker_idle_ratio", wl, w.idleShare, "Share of the time since start the worker found nothing to do.")
        for n in w.nodes {
          let l = wl + [("node", n.node)]
          counter("gannet_node_vectors_total", l, n.vectors, "Vectors a graph node processed.")
          counter("gannet_node_packets_total", l, n.packets, "Packets a graph node processed.")
          counter("gannet_node_cycles_total", l, UInt64(n.cyclesPerPacket * Double(n.packets)), "TSC cycles spent in a graph node.")
        }
      }
    }
    if let tunnels = get(.show(.tunnels), [TunnelRow].self) {
      for t in tunnels {
        let l = [("remote", t.remote)]
        counter("gannet_tunnel_rx_packets_total", l, t.rxPackets, "VXLAN packets received from a remote VTEP.")
        counter("gannet_tunnel_tx_packets_total", l, t.txPackets, "VXLAN packets sent to a remote VTEP.")
        gauge("gannet_tunnel_up", l, t.state == "resolved" ? 1 : 0, "1 when the tunnel's next hop is resolved.")
      }
    }
    if let nat = get(.show(.nat), NATReply.self) {
      gauge("gannet_nat_sessions", [], Double(nat.live), "Live SNAT sessions.")
      gauge("gannet_nat_sessions_capacity", [], Double(nat.capacity), "SNAT session table capacity.")
      counter("gannet_nat_sessions_created_total", [], nat.created, "SNAT sessions created.")
      counter("gannet_nat_sessions_expired_total", [], nat.expired, "SNAT sessions expired.")
      counter("gannet_nat_ports_exhausted_total", [], nat.portsExhausted, "New SNAT flows refused: no free port.")
      counter("gannet_nat_table_full_total", [], nat.tableFull, "New SNAT flows refused: table full.")
      for w in nat.workers {
        gauge("gannet_nat_worker_sessions", [("worker", "\(w.worker)")], Double(w.live), "Live SNAT sessions a worker owns.")
        counter("gannet_nat_handed_off_total", [("worker", "\(w.worker)")], w.handedOff, "SNAT packets handed to their session's worker.")
      }
    }
    if let ct = get(.showConntrack(ConntrackFilter(limit: 1)), ConntrackReply.self) {
      gauge("gannet_conntrack_connections", [], Double(ct.live), "Tracked connections of security groups and lists.")
      gauge("gannet_conntrack_capacity", [], Double(ct.capacity), "Connection table capacity.")
      counter("gannet_conntrack_created_total", [], ct.created, "Connections created.")
      counter("gannet_conntrack_expired_total", [], ct.expired, "Connections expired.")
      counter("gannet_conntrack_revoked_total", [], ct.revoked, "Connections removed because rules no longer admit them.")
      counter("gannet_conntrack_table_full_total", [], ct.tableFull, "New connections refused: table full.")
    }
    if let groups = get(.show(.securityGroups), [SecurityGroupRow].self) {
      for g in groups {
        for rule in g.rules {
          counter("gannet_security_rule_hits_total", [("group", g.id), ("rule", rule.id)], rule.hits,
                  "Connections (stateless: packets) a security group rule admitted.")
        }
      }
    }
    if let flows = get(.show(.flows), [FlowRow].self) {
      for f in flows {
        counter("gannet_flow_packets_total", [("flow", f.id)], f.packets, "Frames an operator flow matched.")
        counter("gannet_flow_bytes_total", [("flow", f.id)], f.bytes, "Bytes of the frames an operator flow matched.")
      }
    }
    gauge("gannet_scrape_errors", [], Double(errors), "Control requests of this scrape that failed.")
    return r.emitToString()
  }
}
