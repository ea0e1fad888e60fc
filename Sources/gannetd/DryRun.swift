import Buffers
import Compiler
import Control
import Foundation
import IO
import Pipeline
import Tables
import Wire

/// `trace.packet`: one frame through a private copy of the graph, against the published
/// snapshot. Nothing is sent (every interface is a memory port that keeps what it is given),
/// and no shared table is written: the connection table is a private copy of the node's
/// (`ct_state` live) or empty (`new`), the SNAT sessions a private empty table (so a SNAT
/// packet shows the session a new connection would get), learning and ARP events go to a
/// private ring. The interface's operator flows apply first, as on a worker (a step
/// `operator-flows` names the flow that matched). The records are a live trace's, so both
/// read the same.
///
/// Thread safety: control thread only (the snapshot stays valid: only this thread publishes).
extension DataplaneController {
  func dryRun(_ r: TracePacketRequest) throws(ControlError) -> TraceReply {
    let interface = try interfaceIndex(r.port)
    let frame: [UInt8]
    if let f = r.frame { frame = f } else { frame = try buildFrame(r.packet ?? "", port: r.port) }
    guard frame.count <= NativePool.defaultDataRoom else { throw .bad("trace.packet: the frame is larger than a buffer") }
    let snap = tables.snapshot()
    let portCount = snap.portCount
    let pool = NativePool(count: 256)
    let releaser = BufferReleaser(pool: pool)
    var graph = Graph(maxPorts: max(portCount, 1))
    let events = EventRing(capacity: 256)
    let sessions = SessionTable(capacity: 1024, timeouts: config.natTimeouts)
    let handoff = Handoff(workers: 1)
    let ct = r.ctState == "new" ? ConnTrack(capacity: 1024) : ConnTrack(copying: conntrack)
    let memory = (0..<portCount).map { _ in MemoryPort(inputCapacity: 1, captureCapacity: 64) }
    let ports = UnsafeMutablePointer<IO.Port>.allocate(capacity: max(portCount, 1))
    for i in 0..<portCount { (ports + i).initialize(to: .memory(memory[i])) }
    let tap = PacketTap(workers: 1)
    let rings = UnsafeMutablePointer<TapRing>.allocate(capacity: 1)
    rings.initialize(to: TapRing(capacity: 1024, dataBytes: PacketTap.traceBytes))
    let inflight = UnsafeMutablePointer<UInt>.allocate(capacity: 2 * PacketTap.inflight + 1)
    inflight.initialize(repeating: 0, count: 2 * PacketTap.inflight + 1)
    defer {
      rings.pointee.destroy()
      rings.deallocate()
      inflight.deallocate()
      tap.destroy()
      for i in 0..<portCount { memory[i].close() }
      ports.deinitialize(count: portCount)
      ports.deallocate()
      ct.destroy()
      handoff.destroy { releaser.release($0) }
      sessions.destroy()
      graph.destroy()
      releaser.destroy()
      pool.destroy()
    }
    var s = PacketTap.Settings()
    s.tracePort = interface
    s.traceRings = rings
    s.traceTables = inflight
    tap.settings.pointee = s
    tap.setBudget(1)

    guard let buffer = pool.alloc() else { throw ControlError("internal", "no buffer for the dry run") }
    let data = buffer + NativePool.defaultHeadroom
    frame.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
    graph.input.pointee.append(Packet(data: data, buffer: buffer, length: UInt32(frame.count), inPort: UInt16(interface), flags: 0))
    let now = UInt32(truncatingIfNeeded: TSC.now() / TSC.hz)
    let env = GraphEnvironment(snapshot: snap, pool: pool, releaser: releaser, events: Unmanaged.passUnretained(events),
                               tunnelCounters: graph.tunnelCounters, queue: 0, sessions: sessions, handoff: handoff, conntrack: ct,
                               aclCounters: graph.aclCounters, now: now, tap: tap, tapMode: PacketTap.trace, ports: ports)
    tap.received(graph.input.pointee, port: UInt16(interface), mode: PacketTap.trace, worker: 0, generation: snap.generation)
    if snap.flows.has(interface) {
      // The interface's operator flows, as a worker applies them before the graph.
      snap.flows.apply(&graph.input.pointee, interface: interface, ports: ports, portCount: portCount, pool: pool, releaser: releaser,
                       queue: 0, hits: graph.flowHits, counters: graph.counters, tap: tap, tapMode: PacketTap.trace,
                       generation: snap.generation)
    }
    graph.run(env)

    var records: [TapRecord] = []
    rings.pointee.drain { records.append($0) }
    var outputs: [TraceOutput] = []
    for i in 0..<portCount {
      for f in memory[i].drainCaptured() {
        outputs.append(TraceOutput(port: interfaceName(i), frame: FrameSummary.describe(f), hex: f.map { String(format: "%02x", $0) }.joined()))
      }
    }
    return TraceReply(state: "dry-run", port: r.port, wanted: 1, packets: tracedPackets(records), outputs: outputs)
  }

  /// Builds the frame of `ip SRC > DST [tcp SPORT > DPORT [flags FLAGS] | udp SPORT > DPORT |
  /// icmp]` as the VM on `port` would send it: its MAC as source; as destination the MAC of
  /// the port on its network that has DST, else that network's router interface.
  func buildFrame(_ text: String, port: String) throws(ControlError) -> [UInt8] {
    guard let p = state.ports[port] else { throw ControlError("not-found", "no port '\(port)'") }
    let t = text.split(separator: " ").map(String.init)
    func bad(_ why: String) -> ControlError {
      .bad("trace.packet: '\(text)': \(why); expected 'ip SRC > DST [tcp SPORT > DPORT [flags S] | udp SPORT > DPORT | icmp]'")
    }
    guard t.count >= 4, t[0] == "ip", t[2] == ">", let src = IPv4Address(t[1]), let dst = IPv4Address(t[3]) else {
      throw bad("no 'ip SRC > DST'")
    }
    var proto: UInt8 = 1, sport = 0, dport = 0, flags: UInt8 = 0x02
    if t.count > 4 {
      switch t[4] {
      case "tcp", "udp":
        guard t.count >= 8, t[6] == ">", let a = UInt16(t[5]), let b = UInt16(t[7]) else { throw bad("no 'SPORT > DPORT'") }
        proto = t[4] == "tcp" ? 6 : 17
        sport = Int(a)
        dport = Int(b)
        if t.count > 8 {
          guard t[4] == "tcp", t.count == 10, t[8] == "flags" else { throw bad("unexpected '\(t[8])'") }
          flags = 0
          for c in t[9] {
            switch c {
            case "S": flags |= 0x02
            case "A", ".": flags |= 0x10
            case "F": flags |= 0x01
            case "R": flags |= 0x04
            case "P": flags |= 0x08
            default: throw bad("flag '\(c)' is not one of S A . F R P")
            }
          }
        }
      case "icmp": guard t.count == 5 else { throw bad("nothing follows 'icmp'") }
      default: throw bad("'\(t[4])' is not tcp, udp or icmp")
      }
    }
    let dstMAC: MACAddress
    if let other = state.ports.values.first(where: { $0.network == p.network && $0.fixedIPs.contains(dst) }) {
      dstMAC = other.mac
    } else if let i = state.routers.values.flatMap(\.interfaces).first(where: { $0.network == p.network }) {
      dstMAC = i.mac
    } else {
      throw bad("no port with \(dst) and no router on network \(p.network)")
    }
    return Self.frame(src: p.mac, dst: dstMAC, srcIP: src, dstIP: dst, proto: proto, sport: sport, dport: dport, tcpFlags: flags)
  }

  static func frame(src: MACAddress, dst: MACAddress, srcIP: IPv4Address, dstIP: IPv4Address, proto: UInt8, sport: Int, dport: Int,
                    tcpFlags: UInt8) -> [UInt8] {
    func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    func mac(_ m: MACAddress) -> [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: m.rawValue >> (40 - 8 * UInt64($0))) } }
    func sum(_ b: [UInt8], _ initial: UInt32 = 0) -> [UInt8] {
      var s = initial
      for i in stride(from: 0, to: b.count, by: 2) { s += UInt32(b[i]) << 8 | UInt32(i + 1 < b.count ? b[i + 1] : 0) }
      while s > 0xffff { s = (s & 0xffff) + (s >> 16) }
      return be16(Int(~s & 0xffff))
    }
    var l4: [UInt8]
    switch proto {
    case 6: l4 = be16(sport) + be16(dport) + be32(1) + be32(0) + [0x50, tcpFlags] + be16(64240) + [0, 0, 0, 0]
    case 17: l4 = be16(sport) + be16(dport) + be16(8 + 8) + [0, 0] + [UInt8](repeating: 0x61, count: 8)
    default: l4 = [8, 0, 0, 0] + be16(1) + be16(1) + [UInt8](repeating: 0x61, count: 8)
    }
    if proto == 1 {
      l4.replaceSubrange(2..<4, with: sum(l4))
    } else {
      let pseudo = be32(srcIP.value) + be32(dstIP.value) + [0, proto] + be16(l4.count)
      let c = sum(pseudo + l4)
      l4.replaceSubrange(proto == 6 ? 16..<18 : 6..<8, with: c)
    }
    var ip = [0x45, 0] + be16(20 + l4.count) + be16(1) + [0x40, 0, 64, proto, 0, 0] + be32(srcIP.value) + be32(dstIP.value)
    ip.replaceSubrange(10..<12, with: sum(ip))
    var f = mac(dst) + mac(src) + [0x08, 0x00] + ip + l4
    if f.count < 60 { f += [UInt8](repeating: 0, count: 60 - f.count) }
    return f
  }
}
