import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One NAT session (connection-tracking entry) of the SNAT gateway, 64 bytes.
///
/// The *inside* endpoint (a VM's fixed IP and port) talks to a *remote* endpoint on the
/// internet; on the outside the session appears as `externalIP:externalPort`. The router's
/// external IP is also the session's routing domain: tenants' inside addresses overlap, and
/// every key includes it (two routers never share an external IP). For ICMP echo the ports
/// are the echo identifier (inside and translated) and `remotePort` is 0.
@frozen
public struct NATSession: Sendable, Equatable {
  public var proto: UInt8
  /// TCP flags seen, `TCPState` bits.
  public var tcp: UInt8
  public var inUse: UInt16
  public var externalIP: UInt32
  public var insideIP: UInt32
  public var remoteIP: UInt32
  public var insidePort: UInt16
  public var externalPort: UInt16
  public var remotePort: UInt16
  public var reserved: UInt16 = 0
  /// Seconds (the table's clock) when created and when a packet last matched.
  public var created: UInt32
  public var lastSeen: UInt32
  public var packetsIn2Out: UInt64
  public var packetsOut2In: UInt64
  public var bytesIn2Out: UInt64

  public init(proto: UInt8, externalIP: UInt32, insideIP: UInt32, insidePort: UInt16, remoteIP: UInt32, remotePort: UInt16,
              externalPort: UInt16, now: UInt32) {
    self.proto = proto
    tcp = 0
    inUse = 1
    self.externalIP = externalIP
    self.insideIP = insideIP
    self.remoteIP = remoteIP
    self.insidePort = insidePort
    self.externalPort = externalPort
    self.remotePort = remotePort
    created = now
    lastSeen = now
    packetsIn2Out = 0
    packetsOut2In = 0
    bytesIn2Out = 0
  }
}

/// TCP connection tracking, as a set of flags seen (RFC 9293 §3.3.2 reduced to what a NAT
/// needs for timeouts, as VPP's NAT44-ED and Linux's conntrack do): a connection is
/// *established* once both sides sent SYN and no FIN or RST followed; every other state
/// (opening, closing, closed) is *transitory* and expires after the short timeout.
public enum TCPState {
  public static let insideSYN: UInt8 = 1
  public static let outsideSYN: UInt8 = 2
  public static let insideFIN: UInt8 = 4
  public static let outsideFIN: UInt8 = 8
  public static let reset: UInt8 = 16

  @inlinable @inline(__always)
  public static func isEstablished(_ s: UInt8) -> Bool { s & 3 == 3 && s & 0x1c == 0 }

  /// The flag bits a segment with TCP `flags` adds, from inside (`out == false`) or outside.
  @inlinable @inline(__always)
  public static func update(_ s: UInt8, flags: UInt8, fromOutside: Bool) -> UInt8 {
    var n = s
    if flags & 0x04 != 0 { n |= reset }
    if flags & 0x02 != 0 { n |= fromOutside ? outsideSYN : insideSYN }
    if flags & 0x01 != 0 { n |= fromOutside ? outsideFIN : insideFIN }
    // A new SYN from inside on a closed or reset session starts it over (port reuse).
    if flags & 0x12 == 0x02 && !fromOutside && s & 0x1c != 0 { n = insideSYN }
    return n
  }

  public static func name(_ s: UInt8) -> String {
    if s & reset != 0 { return "reset" }
    if s & (insideFIN | outsideFIN) == insideFIN | outsideFIN { return "closed" }
    if s & (insideFIN | outsideFIN) != 0 { return "closing" }
    if isEstablished(s) { return "established" }
    if s & outsideSYN != 0 { return "syn-received" }
    return "syn-sent"
  }
}

/// Timeouts in seconds, per protocol and TCP state. Defaults follow RFC 5382 (REQ-5: an
/// established TCP mapping lives at least 2 h 4 min), RFC 4787 (REQ-5: UDP at least 2 min;
/// 5 min recommended) and RFC 5508 (ICMP query at least 60 s).
public struct NATTimeouts: Sendable, Equatable {
  public var tcpEstablished: UInt32 = 7440
  public var tcpTransitory: UInt32 = 240
  public var udp: UInt32 = 300
  public var icmp: UInt32 = 60
  public init() {}
  public init(tcpEstablished: UInt32, tcpTransitory: UInt32, udp: UInt32, icmp: UInt32) {
    self.tcpEstablished = tcpEstablished
    self.tcpTransitory = tcpTransitory
    self.udp = udp
    self.icmp = icmp
  }
}

/// The connection table of a SNAT gateway: up to `capacity` sessions (1M by default) in one
/// preallocated array, found from either side through two hash indexes:
///
/// - in2out: (external IP, protocol, inside IP, inside port, remote IP, remote port)
/// - out2in: (external IP, protocol, external port, remote IP, remote port)
///
/// Mappings are endpoint-dependent (RFC 4787 §4.1; as Linux masquerading and VPP NAT44-ED):
/// an external port is unique per remote endpoint, so one external IP carries far more than
/// 64k sessions. A new session's port comes from a bounded search (`maxPortTries`
/// candidates from a flow hash) in the router's port range; when none is free the packet is
/// dropped and counted (`snat-ports-exhausted`), as when the table is full.
///
/// Index buckets are 8 bytes: the low 32 bits of the key's hash (its home bucket is
/// `hash & mask`) and the session index + 1 (0 = empty). Linear probing at ≤ 50 % load;
/// deletion shifts the following entries back (no tombstones, so lookups never degrade).
/// A bucket's tag match is confirmed against the session's full key.
///
/// Expiry is incremental: `expire(now:budget:)` advances a clock hand over `budget` slots
/// per call (the worker calls it once per poll round), so no pass ever stalls the worker;
/// a session found expired by a lookup from outside is treated as absent.
///
/// Thread safety: one worker owns the table and is the only writer (every session of a
/// router is created and looked up on the worker that polls the underlay and the uplink).
/// The control thread reads sessions for `show sessions` through `read(_:)`, a seqlock per
/// slot: creation and removal make the slot's sequence odd while they write.
@frozen
public struct SessionTable: @unchecked Sendable {
  public static let maxPortTries = 128
  public let capacity: Int
  @usableFromInline let sessions: UnsafeMutablePointer<NATSession>
  @usableFromInline let seqs: UnsafeMutablePointer<Atomic<UInt32>>
  @usableFromInline let in2out: UnsafeMutablePointer<UInt64>
  @usableFromInline let out2in: UnsafeMutablePointer<UInt64>
  @usableFromInline let mask: Int
  @usableFromInline let free: UnsafeMutablePointer<UInt32>
  /// [0] free count, [1] clock hand.
  @usableFromInline let state: UnsafeMutablePointer<Int>
  @usableFromInline let timeouts: UnsafeMutablePointer<NATTimeouts>
  /// 0 sessions live, 1 created, 2 expired, 3 ports exhausted, 4 table full (any reader).
  public let stats: UnsafeMutablePointer<Atomic<UInt64>>
  public enum Stat: Int, CaseIterable { case live, created, expired, portsExhausted, tableFull }

  public init(capacity: Int, timeouts: NATTimeouts = NATTimeouts()) {
    precondition(capacity > 0 && capacity < Int(UInt32.max) / 4)
    self.capacity = capacity
    var buckets = 16
    while buckets < capacity * 2 { buckets <<= 1 }
    mask = buckets - 1
    sessions = HugeMemory.zeroed(capacity, as: NATSession.self)
    in2out = HugeMemory.zeroed(buckets, as: UInt64.self)
    out2in = HugeMemory.zeroed(buckets, as: UInt64.self)
    seqs = .allocate(capacity: capacity)
    for i in 0..<capacity { (seqs + i).initialize(to: Atomic(0)) }
    free = .allocate(capacity: capacity)
    for i in 0..<capacity { free[i] = UInt32(capacity - 1 - i) }
    state = .allocate(capacity: 2)
    state[0] = capacity
    state[1] = 0
    self.timeouts = .allocate(capacity: 1)
    self.timeouts.initialize(to: timeouts)
    stats = .allocate(capacity: Stat.allCases.count)
    for i in 0..<Stat.allCases.count { (stats + i).initialize(to: Atomic(0)) }
  }

  public func destroy() {
    HugeMemory.release(sessions, count: capacity)
    HugeMemory.release(in2out, count: mask + 1)
    HugeMemory.release(out2in, count: mask + 1)
    seqs.deinitialize(count: capacity)
    seqs.deallocate()
    free.deallocate()
    state.deallocate()
    timeouts.deallocate()
    stats.deinitialize(count: Stat.allCases.count)
    stats.deallocate()
  }

  /// Changes the timeouts. Control thread; the worker reads them on its next expiry check.
  public func setTimeouts(_ t: NATTimeouts) { timeouts.pointee = t }
  public var currentTimeouts: NATTimeouts { timeouts.pointee }

  public func stat(_ s: Stat) -> UInt64 { stats[s.rawValue].load(ordering: .relaxed) }
  @inlinable @inline(__always)
  func bump(_ s: Stat, _ by: UInt64 = 1) {
    let v = stats[s.rawValue].load(ordering: .relaxed)
    stats[s.rawValue].store(v &+ by, ordering: .relaxed)
  }
  public var live: Int { capacity - state[0] }

  // MARK: hashing

  @inlinable @inline(__always)
  static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var h = (a &* 0x9e37_79b9_7f4a_7c15) ^ (b &* 0xc2b2_ae3d_27d4_eb4f)
    h ^= h >> 31
    h = h &* 0xff51_afd7_ed55_8ccd
    return h ^ (h >> 29)
  }
  @inlinable @inline(__always)
  public static func in2outHash(externalIP: UInt32, proto: UInt8, insideIP: UInt32, insidePort: UInt16, remoteIP: UInt32,
                                remotePort: UInt16) -> UInt32 {
    UInt32(truncatingIfNeeded: mix(UInt64(externalIP) << 32 | UInt64(insideIP),
                                   UInt64(remoteIP) << 32 | UInt64(insidePort) << 16 | UInt64(remotePort) ^ UInt64(proto) << 58))
  }
  @inlinable @inline(__always)
  public static func out2inHash(externalIP: UInt32, proto: UInt8, externalPort: UInt16, remoteIP: UInt32,
                                remotePort: UInt16) -> UInt32 {
    UInt32(truncatingIfNeeded: mix(UInt64(externalIP) << 32 | UInt64(remoteIP) ^ 0x5bd1_e995 << 32,
                                   UInt64(externalPort) << 16 | UInt64(remotePort) ^ UInt64(proto) << 58))
  }

  // MARK: lookups (owner worker)

  /// The session index of an inside flow, or -1.
  @inlinable @inline(__always)
  public func lookupIn2Out(externalIP: UInt32, proto: UInt8, insideIP: UInt32, insidePort: UInt16, remoteIP: UInt32,
                           remotePort: UInt16) -> Int {
    lookupIn2Out(hash: Self.in2outHash(externalIP: externalIP, proto: proto, insideIP: insideIP, insidePort: insidePort,
                                       remoteIP: remoteIP, remotePort: remotePort),
                 externalIP: externalIP, proto: proto, insideIP: insideIP, insidePort: insidePort, remoteIP: remoteIP, remotePort: remotePort)
  }

  /// The same, given the key's `in2outHash` (computed once per packet by a caller that also
  /// prefetched with it).
  @inlinable @inline(__always)
  public func lookupIn2Out(hash h: UInt32, externalIP: UInt32, proto: UInt8, insideIP: UInt32, insidePort: UInt16, remoteIP: UInt32,
                           remotePort: UInt16) -> Int {
    var i = Int(h) & mask
    while true {
      let b = in2out[i]
      if b == 0 { return -1 }
      if UInt32(truncatingIfNeeded: b >> 32) == h {
        let k = Int(truncatingIfNeeded: b & 0xffff_ffff) &- 1
        let s = sessions[k]
        if s.insideIP == insideIP && s.remoteIP == remoteIP && s.insidePort == insidePort && s.remotePort == remotePort
          && s.externalIP == externalIP && s.proto == proto { return k }
      }
      i = (i &+ 1) & mask
    }
  }

  /// The session index of a packet from outside, or -1.
  @inlinable @inline(__always)
  public func lookupOut2In(externalIP: UInt32, proto: UInt8, externalPort: UInt16, remoteIP: UInt32, remotePort: UInt16) -> Int {
    let h = Self.out2inHash(externalIP: externalIP, proto: proto, externalPort: externalPort, remoteIP: remoteIP,
                            remotePort: remotePort)
    var i = Int(h) & mask
    while true {
      let b = out2in[i]
      if b == 0 { return -1 }
      if UInt32(truncatingIfNeeded: b >> 32) == h {
        let k = Int(truncatingIfNeeded: b & 0xffff_ffff) &- 1
        let s = sessions[k]
        if s.externalPort == externalPort && s.remoteIP == remoteIP && s.remotePort == remotePort && s.externalIP == externalIP
          && s.proto == proto { return k }
      }
      i = (i &+ 1) & mask
    }
  }

  /// Where the in2out probe for `hash` starts (to prefetch it a few packets ahead).
  @inlinable @inline(__always)
  public func in2outBucket(_ hash: UInt32) -> UnsafeRawPointer { UnsafeRawPointer(in2out + (Int(hash) & mask)) }

  /// The session the in2out home bucket of `hash` names when its tag matches (a likely hit,
  /// to prefetch), else nil. Reads only the bucket.
  @inlinable @inline(__always)
  public func in2outCandidate(_ hash: UInt32) -> UnsafeRawPointer? {
    let b = in2out[Int(hash) & mask]
    guard b != 0, UInt32(truncatingIfNeeded: b >> 32) == hash else { return nil }
    return UnsafeRawPointer(sessions + (Int(truncatingIfNeeded: b & 0xffff_ffff) &- 1))
  }

  @inlinable @inline(__always)
  public func session(_ k: Int) -> UnsafeMutablePointer<NATSession> { sessions + k }

  /// How long session `s` may stay idle.
  @inlinable @inline(__always)
  public func timeout(_ s: NATSession) -> UInt32 {
    let t = timeouts.pointee
    switch s.proto {
    case 6: return TCPState.isEstablished(s.tcp) ? t.tcpEstablished : t.tcpTransitory
    case 17: return t.udp
    default: return t.icmp
    }
  }
  @inlinable @inline(__always)
  public func isExpired(_ s: NATSession, now: UInt32) -> Bool { now &- s.lastSeen > timeout(s) }

  /// Creates the session of a new inside flow with a port from `portLow…portHigh` (a bounded
  /// search from a hash of the flow; `in2outHash`: the key's, when the caller has it). Returns its index, or (counted) -1 when no port is free
  /// for this remote endpoint within `maxPortTries` candidates, -2 when the table is full.
  @inlinable
  public func create(proto: UInt8, externalIP: UInt32, insideIP: UInt32, insidePort: UInt16, remoteIP: UInt32, remotePort: UInt16,
                     portLow: UInt16, portHigh: UInt16, now: UInt32, in2outHash known: UInt32? = nil) -> Int {
    guard state[0] > 0 else {
      bump(.tableFull)
      return -2
    }
    let inHash = known ?? Self.in2outHash(externalIP: externalIP, proto: proto, insideIP: insideIP, insidePort: insidePort,
                                          remoteIP: remoteIP, remotePort: remotePort)
    let range = UInt32(portHigh &- portLow) &+ 1
    let tries = min(Int(range), Self.maxPortTries)
    var offset = (inHash >> 7) % range
    var port: UInt16 = 0
    var outHash: UInt32 = 0
    var found = false
    for _ in 0..<tries {
      let candidate = portLow &+ UInt16(truncatingIfNeeded: offset)
      if lookupOut2In(externalIP: externalIP, proto: proto, externalPort: candidate, remoteIP: remoteIP, remotePort: remotePort) < 0 {
        port = candidate
        outHash = Self.out2inHash(externalIP: externalIP, proto: proto, externalPort: candidate, remoteIP: remoteIP,
                                  remotePort: remotePort)
        found = true
        break
      }
      offset &+= 1
      if offset == range { offset = 0 }
    }
    guard found else {
      bump(.portsExhausted)
      return -1
    }
    state[0] &-= 1
    let k = Int(free[state[0]])
    let seq = seqs[k].load(ordering: .relaxed)
    seqs[k].store(seq &+ 1, ordering: .relaxed)
    atomicMemoryFence(ordering: .releasing)
    sessions[k] = NATSession(proto: proto, externalIP: externalIP, insideIP: insideIP, insidePort: insidePort, remoteIP: remoteIP,
                             remotePort: remotePort, externalPort: port, now: now)
    seqs[k].store(seq &+ 2, ordering: .releasing)
    insert(in2out, hash: inHash, index: k)
    insert(out2in, hash: outHash, index: k)
    bump(.created)
    bump(.live)
    return k
  }

  @inlinable @inline(__always)
  func insert(_ table: UnsafeMutablePointer<UInt64>, hash: UInt32, index: Int) {
    var i = Int(hash) & mask
    while table[i] != 0 { i = (i &+ 1) & mask }
    table[i] = UInt64(hash) << 32 | UInt64(index &+ 1)
  }

  /// Removes the bucket naming `index` from `table` and shifts the probe run back
  /// (Knuth's algorithm R for linear probing), so lookups never see a gap.
  @usableFromInline
  func erase(_ table: UnsafeMutablePointer<UInt64>, hash: UInt32, index: Int) {
    var i = Int(hash) & mask
    while table[i] & 0xffff_ffff != UInt64(index &+ 1) {
      if table[i] == 0 { return }
      i = (i &+ 1) & mask
    }
    var hole = i
    var j = i
    while true {
      j = (j &+ 1) & mask
      let b = table[j]
      if b == 0 { break }
      let home = Int(truncatingIfNeeded: b >> 32) & mask
      // Move b into the hole unless its home lies cyclically in (hole, j].
      let inRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
      if !inRange {
        table[hole] = b
        hole = j
      }
    }
    table[hole] = 0
  }

  /// Removes session `k`. Owner worker.
  @usableFromInline
  func remove(_ k: Int) {
    let s = sessions[k]
    guard s.inUse != 0 else { return }
    erase(in2out, hash: Self.in2outHash(externalIP: s.externalIP, proto: s.proto, insideIP: s.insideIP, insidePort: s.insidePort,
                                        remoteIP: s.remoteIP, remotePort: s.remotePort), index: k)
    erase(out2in, hash: Self.out2inHash(externalIP: s.externalIP, proto: s.proto, externalPort: s.externalPort,
                                        remoteIP: s.remoteIP, remotePort: s.remotePort), index: k)
    let seq = seqs[k].load(ordering: .relaxed)
    seqs[k].store(seq &+ 1, ordering: .relaxed)
    atomicMemoryFence(ordering: .releasing)
    sessions[k].inUse = 0
    seqs[k].store(seq &+ 2, ordering: .releasing)
    free[state[0]] = UInt32(k)
    state[0] &+= 1
    let live = stats[Stat.live.rawValue].load(ordering: .relaxed)
    stats[Stat.live.rawValue].store(live &- 1, ordering: .relaxed)
  }

  /// Expires idle sessions among the next `budget` slots (clock hand). Owner worker, once per
  /// poll round. Returns how many were removed.
  @discardableResult
  public func expire(now: UInt32, budget: Int) -> Int {
    var hand = state[1]
    var removed = 0
    for _ in 0..<min(budget, capacity) {
      let s = sessions[hand]
      if s.inUse != 0 && isExpired(s, now: now) {
        remove(hand)
        removed &+= 1
      }
      hand &+= 1
      if hand == capacity { hand = 0 }
    }
    state[1] = hand
    if removed > 0 { bump(.expired, UInt64(removed)) }
    return removed
  }

  /// Removes every session of `externalIP` (a router's gateway changed or was removed), or
  /// all when nil. Owner worker only, or while no worker runs.
  public func flush(externalIP: UInt32?) {
    for k in 0..<capacity where sessions[k].inUse != 0 && (externalIP == nil || sessions[k].externalIP == externalIP!) { remove(k) }
  }

  // MARK: reading (any thread)

  /// A consistent copy of slot `k` if it holds a session, else nil. Any thread (seqlock:
  /// retried while the owner is writing the slot).
  public func read(_ k: Int) -> NATSession? {
    for _ in 0..<8 {
      let s1 = seqs[k].load(ordering: .acquiring)
      if s1 & 1 != 0 { continue }
      let copy = sessions[k]
      atomicMemoryFence(ordering: .acquiring)
      if seqs[k].load(ordering: .relaxed) == s1 { return copy.inUse != 0 ? copy : nil }
    }
    return nil
  }

  /// Every live session (a copy; the worker keeps running). Any thread.
  public func allSessions() -> [NATSession] {
    var out: [NATSession] = []
    for k in 0..<capacity { if let s = read(k) { out.append(s) } }
    return out
  }
}
