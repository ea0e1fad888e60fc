import Foundation
import TestSupport
import IO
import Testing

/// Sends frames through a veth pair between two namespaces with `gannet-io` (a child
/// process: DPDK's EAL runs once per process), in both directions, and checks that every
/// frame arrives byte-identical and in order — VLAN-tagged ones included, whose tag the
/// kernel strips into metadata on receive and the port must put back.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct VethTransferTests {
  enum Backend: String, CaseIterable, Sendable {
    case afPacket, dpdkAFPacket
    func spec(_ iface: String, _ n: Int) -> String {
      switch self {
      case .afPacket: "af-packet:\(iface)"
      case .dpdkAFPacket: "dpdk:net_af_packet\(n),iface=\(iface)"
      }
    }
  }

  @Test(arguments: Backend.allCases)
  func bothDirectionsByteIdentical(_ backend: Backend) throws {
    let veth = try VethPair()
    defer { veth.destroy() }
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gannet-io-\(veth.nsA)").path
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let tool = executable("gannet-io")
    #expect(FileManager.default.isExecutableFile(atPath: tool), "build the package first (swift build --build-tests)")

    for (dir, (fromNS, fromIf, toNS, toIf)) in [(veth.nsA, veth.ifA, veth.nsB, veth.ifB),
                                               (veth.nsB, veth.ifB, veth.nsA, veth.ifA)].enumerated() {
      let frames = testFrames(count: 64, seed: UInt64(dir + 1))
      let txPath = "\(tmp)/tx\(dir).pcap", rxPath = "\(tmp)/rx\(dir).pcap"
      try writePcap(frames, to: txPath)

      // Receiver first; wait for its "ready" so no frame is sent before the socket is bound.
      let rx = Process()
      rx.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      rx.arguments = ["ip", "netns", "exec", toNS, tool, "receive", "--port", backend.spec(toIf, 0),
                      "--count", "\(frames.count)", "--timeout", "20", "--out", rxPath]
      let out = Pipe()
      rx.standardOutput = out
      rx.standardError = out
      try rx.runUnblocked()
      defer { if rx.isRunning { rx.terminate() } }
      var seen = Data()
      let deadline = Date().addingTimeInterval(20)
      while !String(decoding: seen, as: UTF8.self).contains("ready") && Date() < deadline && rx.isRunning {
        seen += out.fileHandleForReading.availableData
      }
      #expect(String(decoding: seen, as: UTF8.self).contains("ready"), "receiver did not start: \(String(decoding: seen, as: UTF8.self))")

      let (status, sendOut) = try sh(["timeout", "-s", "KILL", "30", "ip", "netns", "exec", fromNS, tool, "send",
                                      "--port", backend.spec(fromIf, 1), "--pcap", txPath], check: false)
      #expect(status == 0, "sender: \(sendOut)")
      rx.waitUntilExit()
      seen += out.fileHandleForReading.readDataToEndOfFile()
      #expect(rx.terminationStatus == 0, "receiver: \(String(decoding: seen, as: UTF8.self))")

      let got = try FrameStore(pcapFile: rxPath)
      #expect(got.count == frames.count)
      for i in 0..<min(got.count, frames.count) {
        #expect(got.frameBytes(i) == frames[i], "direction \(dir), frame \(i) differs")
      }
    }
  }
}
