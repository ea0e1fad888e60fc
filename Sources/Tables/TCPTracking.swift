import Wire

/// TCP connection states as Linux's `nf_conntrack_proto_tcp` names and times them, and the
/// transition of a tracked connection on a segment: by the direction it travels (the one
/// that opened the connection, or the reply) and its flags (RST, SYN, SYN+ACK, FIN, ACK,
/// none). Only states are tracked, not sequence windows (Linux's `tcp_in_window`).
///
/// `invalid` segments are dropped (`ct-invalid`); `ignore` segments pass without changing
/// the state (a retransmitted or late SYN/ACK that the peer will answer).
public enum TCPTracking {
  public static let none: UInt8 = 0
  public static let synSent: UInt8 = 1
  public static let synRecv: UInt8 = 2
  public static let established: UInt8 = 3
  public static let finWait: UInt8 = 4
  public static let closeWait: UInt8 = 5
  public static let lastAck: UInt8 = 6
  public static let timeWait: UInt8 = 7
  public static let close: UInt8 = 8
  public static let synSent2: UInt8 = 9
  /// Not states: the segment is invalid, or passes without a transition.
  public static let invalid: UInt8 = 0xfe
  public static let ignore: UInt8 = 0xff

  public static let names = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
                             "CLOSE", "SYN_SENT2"]

  /// Linux's default timeouts in seconds, by state.
  public static let defaultTimeouts: [UInt32] = [10, 120, 60, 432_000, 120, 60, 30, 120, 10, 120]

  /// The flag class of a segment, as the table is indexed: 0 SYN, 1 SYN+ACK, 2 FIN, 3 ACK,
  /// 4 RST, 5 none. RST wins over everything, then SYN, FIN, ACK.
  @inlinable
  public static func flagClass(_ flags: UInt8) -> Int {
    if flags & 0x04 != 0 { return 4 }
    if flags & 0x02 != 0 { return flags & 0x10 != 0 ? 1 : 0 }
    if flags & 0x01 != 0 { return 2 }
    if flags & 0x10 != 0 { return 3 }
    return 5
  }

  /// The transition table, one row per flag class and direction, one nibble per current
  /// state (none … synSent2, low nibble first); 0xe: invalid, 0xf: ignore. Written out in
  /// `TCPTrackingTests` as the readable table it packs.
  @inlinable
  static func row(_ flagClass: Int, isReply: Bool) -> UInt64 {
    switch (flagClass, isReply) {
    case (0, false): 0x91_1fff_ff11     // SYN
    case (1, false): 0x2f_ffff_ffee     // SYN+ACK
    case (2, _): 0xe8_7666_44ee         // FIN
    case (3, false): 0xe8_7755_33e3     // ACK
    case (4, _): 0x88_8888_888e         // RST
    case (0, true): 0x9e_eeee_ee9e
    case (1, true): 0x2f_ffff_ff2e
    case (3, true): 0xf8_7755_32fe
    default: 0xee_eeee_eeee             // no flag
    }
  }

  /// The next state of a connection in `state` on a segment with TCP `flags` travelling
  /// the opening (`isReply` false) or reply direction; `invalid` or `ignore` as above.
  @inlinable
  public static func next(_ state: UInt8, flags: UInt8, isReply: Bool) -> UInt8 {
    guard state < 10 else { return invalid }
    let v = UInt8(truncatingIfNeeded: row(flagClass(flags), isReply: isReply) >> (4 &* UInt64(state))) & 0xf
    return v == 0xe ? invalid : v == 0xf ? ignore : v
  }
}

/// Idle timeouts of tracked connections, in seconds: TCP per state (Linux's defaults),
/// UDP before and after a reply (Linux's `udp` and `udp_stream`), ICMP, and other protocols.
public struct ConnTrackTimeouts: Sendable, Equatable {
  public var tcp: [UInt32] = TCPTracking.defaultTimeouts
  public var udp: UInt32 = 30
  public var udpStream: UInt32 = 120
  public var icmp: UInt32 = 30
  public var other: UInt32 = 600
  public init() {}

  /// The timeout of a connection in `state` (the `ConnTrack` state word) of protocol `proto`.
  public func timeout(proto: UInt8, state: UInt64) -> UInt32 {
    switch proto {
    case IPProtocol.tcp:
      let s = Int(UInt8(truncatingIfNeeded: state >> 32))
      return s < tcp.count ? tcp[s] : 10
    case IPProtocol.udp: return state & ConnTrack.replySeen != 0 ? udpStream : udp
    case IPProtocol.icmp: return icmp
    default: return other
    }
  }
}
