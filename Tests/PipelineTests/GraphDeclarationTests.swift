import Fixtures
import Foundation
import IO
import Pipeline
import TestSupport
import Testing
import Wire

/// Nodes declare their successors and drop reasons as data (`GraphNode`); the runner visits
/// nodes in `NodeID` order, which is only right when that order is topological. Packets
/// then show that nodes keep to what they declare.
@Suite struct GraphDeclarationTests {
  @Test func everyNodeIsDeclaredOnceInOrderAndTheOrderIsTopological() {
    let d = GraphNodes.declarations
    #expect(d.map { $0.id } == NodeID.allCases)
    for n in d {
      for s in n.next { #expect(s.rawValue > n.id.rawValue, "\(n.id) -> \(s) goes backwards: the runner would miss it") }
      #expect(!n.next.contains(.errorDrop), "\(n.id): error-drop is implied by its drops")
      #expect(Set(n.drops).count == n.drops.count, "\(n.id) declares a drop twice")
    }
    // Every drop reason of the graph has a node that may count it; the rest are the ports'.
    let declared = Set(d.flatMap { $0.drops })
    let ports: Set<DropReason> = [.rxNoBuffer, .rxTruncated, .txRingFull, .txFrameTooLong, .txNoBuffer, .txMTUExceeded, .rxRingOverflow, .rxGSOMalformed, .rxGSOUnsupported]
    let unused: Set<DropReason> = [.l2UnknownDestination, .ip6TooShort, .ip6BadVersion, .ip6BadPayloadLength]   // IPv6 and pre-flood: not in the graph
    for r in DropReason.allCases where !ports.contains(r) && !unused.contains(r) {
      #expect(declared.contains(r), "\(r.name) is counted by no node's declaration")
    }
  }

  /// The fuzz corpus and 20,000 seeded mutations of it through the fuzz node: every edge a
  /// packet takes and every drop it gets is declared by its node.
  @Test func packetsOnlyTakeDeclaredEdgesAndDrops() throws {
    #if DEBUG
    var rig = try FuzzCloud.rig()
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/corpus/fuzz-frames").standardized
    let seeds = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
      try [UInt8](Data(contentsOf: dir.appendingPathComponent($0)))
    }.filter { $0.count > 1 }
    #expect(seeds.count >= 10)
    var rng = SplitMix64(seed: 13)
    for n in 0..<(seeds.count + 20_000) {
      var input = seeds[n % seeds.count]
      if n >= seeds.count {
        for _ in 0..<(1 + Int(rng.next() % 4)) {
          let at = 1 + Int(rng.next() % UInt64(input.count - 1))
          switch rng.next() % 3 {
          case 0: input[at] = UInt8(truncatingIfNeeded: rng.next())
          case 1: input[at] ^= 1 << UInt8(rng.next() % 8)
          default: input = Array(input[..<max(at, 2)])
          }
        }
      }
      let port = Int(input[0]) % rig.ports.count
      _ = rig.ports[port].inject(Array(input[1...].prefix(MemoryPort.slotSize)))
      rig.pump()
      for p in rig.ports { _ = p.drainCaptured() }
    }
    #expect(rig.undeclaredEdges == [])
    #expect(rig.undeclaredDrops == [])
    // The mix reached most of the graph.
    let seen = NodeID.allCases.filter { n in rig.worker.graph.counters.packets(n) + rig.others.reduce(0) { $0 + $1.graph.counters.packets(n) } > 0 }
    #expect(seen.count >= NodeID.count - 2, "nodes never reached: \(Set(NodeID.allCases).subtracting(seen).map(\.name).sorted())")
    #else
    Issue.record("edges are recorded by debug builds only: run this test in a debug build")
    #endif
  }
}
