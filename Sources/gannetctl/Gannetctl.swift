import ArgumentParser
import Control

@main
struct Gannetctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannetctl",
    abstract: "Inspect and program a running gannetd through its control socket.",
    discussion: "Example: gannetctl version",
    subcommands: [Version.self])

  struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the control protocol version this CLI speaks.")
    func run() { print("gannetctl, control protocol \(ControlProtocol.version)") }
  }
}
