import Buffers
import Tables
import Wire

/// What the compiler says about security groups and lists, in plain values: the classifier
/// arena, one policy per distinct set of groups and lists, and each interface's policy and
/// connection-tracking zone. `ACLTables` turns it into what workers read.
public struct ACLConfig: Sendable {
  /// Tables of one policy: `tables[direction * 8 + stateless * 4 + class]` (direction 0
  /// ingress, 1 egress; class 0 TCP, 1 UDP, 2 ICMP, 3 other) are arena offsets (0: none).
  public struct Policy: Sendable, Equatable {
    public var tables: [UInt32] = Array(repeating: 0, count: 16)
    /// Rules with a source-port range (security lists; rare), checked one by one when the
    /// tables admit nothing: (direction, stateless, class, address range, key range, source
    /// port range, rule).
    public var sourcePortRules: [SourcePortRule] = []
    public init() {}
  }
  public struct SourcePortRule: Sendable, Equatable {
    public var direction: Int
    public var stateless: Bool
    public var protoClass: Int
    public var rule: ACLClassifier.Rule
    public var sourceLow: UInt16
    public var sourceHigh: UInt16
    public init(direction: Int, stateless: Bool, protoClass: Int, rule: ACLClassifier.Rule, sourceLow: UInt16, sourceHigh: UInt16) {
      self.direction = direction
      self.stateless = stateless
      self.protoClass = protoClass
      self.rule = rule
      self.sourceLow = sourceLow
      self.sourceHigh = sourceHigh
    }
  }
  public var arena: [UInt32] = [0]
  public var policies: [Policy] = []
  /// Per interface index: policy number + 1 (0: not filtered) and zone.
  public var interfacePolicy: [Int: (policy: Int, zone: UInt16)] = [:]
  /// Rule numbers are below this (hit counters are sized for it).
  public static let maxRules = 65_536
  public init() {}
}

/// The security tables of one snapshot, read by acl-egress, acl-ingress and l2-flood.
///
/// Thread safety: immutable once built; freed by `destroy` after a grace period.
@frozen
public struct ACLTables: @unchecked Sendable {
  public static let stride = 16
  public let arena: UnsafeMutablePointer<UInt32>
  /// Per policy `stride` table offsets (see `ACLConfig.Policy`).
  public let tables: UnsafeMutablePointer<UInt32>
  public let policyCount: Int
  /// Per interface: policy + 1 (0: not filtered) in bits 0…15, zone in bits 16…31.
  public let interfaces: UnsafeMutablePointer<UInt32>
  public let interfaceCount: Int
  /// Source-port rules, flat: per policy `sourcePortStart[p] ..< sourcePortStart[p + 1]`
  /// of (flags = direction | stateless << 1 | class << 2, address low, address high, key
  /// low, key high, source low << 16 | source high, rule) × 7.
  public let sourcePortStart: UnsafeMutablePointer<Int>
  public let sourcePortRules: UnsafeMutablePointer<UInt32>

  public init(_ c: ACLConfig, interfaces count: Int) {
    arena = .allocate(capacity: max(c.arena.count, 1))
    arena.initialize(repeating: 0, count: max(c.arena.count, 1))
    for (i, v) in c.arena.enumerated() { arena[i] = v }
    policyCount = c.policies.count
    tables = .allocate(capacity: max(c.policies.count * Self.stride, 1))
    for (p, policy) in c.policies.enumerated() { for k in 0..<Self.stride { tables[p * Self.stride + k] = policy.tables[k] } }
    interfaceCount = count
    interfaces = .allocate(capacity: max(count, 1))
    interfaces.initialize(repeating: 0, count: max(count, 1))
    for (i, v) in c.interfacePolicy where i < count { interfaces[i] = UInt32(v.policy + 1) | UInt32(v.zone) << 16 }
    sourcePortStart = .allocate(capacity: c.policies.count + 1)
    var flat: [UInt32] = []
    for (p, policy) in c.policies.enumerated() {
      sourcePortStart[p] = flat.count / 7
      for r in policy.sourcePortRules {
        flat += [UInt32(r.direction) | (r.stateless ? 2 : 0) | UInt32(r.protoClass) << 2, r.rule.addressLow, r.rule.addressHigh,
                 r.rule.keyLow, r.rule.keyHigh, UInt32(r.sourceLow) << 16 | UInt32(r.sourceHigh), r.rule.rule]
      }
    }
    sourcePortStart[c.policies.count] = flat.count / 7
    sourcePortRules = .allocate(capacity: max(flat.count, 1))
    sourcePortRules.initialize(from: flat, count: flat.count)
  }

  public init() { self.init(ACLConfig(), interfaces: 0) }

  public func destroy() {
    arena.deallocate()
    tables.deallocate()
    interfaces.deallocate()
    sourcePortStart.deallocate()
    sourcePortRules.deallocate()
  }

  /// Policy + 1 of interface `i` (0: not filtered).
  @inlinable @inline(__always)
  public func policy(ofInterface i: Int) -> Int { i < interfaceCount ? Int(interfaces[i] & 0xffff) : 0 }
  @inlinable @inline(__always)
  public func zone(ofInterface i: Int) -> UInt16 { UInt16(truncatingIfNeeded: interfaces[i] >> 16) }

  /// The rule of policy `policy` (1-based) admitting a packet, or nil: direction 0 ingress /
  /// 1 egress, `stateless` tables or the stateful ones, protocol class, remote address, key
  /// (destination port, ICMP type << 8 | code, or protocol number) and source port.
  @inlinable
  public func admit(policy: Int, direction: Int, stateless: Bool, protoClass: Int, remote: UInt32, key: UInt32,
                    sourcePort: UInt16) -> UInt32? {
    let p = policy &- 1
    let t = tables[p &* Self.stride &+ direction &* 8 &+ (stateless ? 4 : 0) &+ protoClass]
    if let r = ACLClassifier.lookup(UnsafePointer(arena), table: t, address: remote, key: key) { return r }
    let flags = UInt32(direction) | (stateless ? 2 : 0) | UInt32(protoClass) << 2
    var i = sourcePortStart[p]
    let end = sourcePortStart[p &+ 1]
    while i < end {
      let r = sourcePortRules + i &* 7
      if r[0] == flags && r[1] <= remote && remote <= r[2] && r[3] <= key && key <= r[4]
        && UInt32(sourcePort) >= r[5] >> 16 && UInt32(sourcePort) <= r[5] & 0xffff { return r[6] }
      i &+= 1
    }
    return nil
  }
}

/// One worker's security counters: connections (or stateless packets) each rule admitted,
/// and per interface the packets its groups and lists admitted and refused, each way.
/// Indices are the compiler's stable rule numbers and interface indices; a reader
/// subtracts what an index had counted when it was last given to its key.
///
/// Thread safety: written by the owning worker only (`CounterBlock`); read by any thread.
@frozen
public struct ACLCounters: @unchecked Sendable {
  public let block: CounterBlock
  @usableFromInline let maxInterfaces: Int
  /// Per-interface counters: ingress admitted, ingress refused, egress admitted, egress refused.
  public static let perInterface = 4

  public init(maxInterfaces: Int) {
    self.maxInterfaces = maxInterfaces
    block = CounterBlock(count: ACLConfig.maxRules + maxInterfaces * Self.perInterface)
  }
  public func destroy() { block.destroy() }

  @inlinable @inline(__always)
  public func hit(_ rule: UInt32) { block.add(Int(rule), 1) }

  /// Counts one packet checked for `interface` (ingress: to the VM; egress: from it).
  @inlinable @inline(__always)
  public func packet(interface: Int, egress: Bool, denied: Bool) {
    block.add(ACLConfig.maxRules &+ interface &* Self.perInterface &+ (egress ? 2 : 0) &+ (denied ? 1 : 0), 1)
  }

  public func hits(_ rule: Int) -> UInt64 { block.read(rule) }
  /// The four per-interface counters of `interface` (see `perInterface`).
  public func packets(interface: Int) -> [UInt64] {
    (0..<Self.perInterface).map { block.read(ACLConfig.maxRules + interface * Self.perInterface + $0) }
  }
}
