import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardCtl

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Progressive delivery for LLM model versions: a gateway that splits traffic across pinned model deployments.",
        version: SwitchyardVersion.current,
        subcommands: [Demo.self, Serve.self, Console.self, Ctl.self, Simulate.self]
    )

    @MainActor
    static func main() async {
        // Run Swift concurrency on NIO's event loops, so a request does not hop
        // between the concurrency pool and the loop that owns its sockets. This
        // must happen on the main thread before the command starts any task.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        do {
            var command = try parseAsRoot(Ctl.globalOptionsLast(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Usage errors exit with 2, the convention scripts expect (ArgumentParser uses 64).
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
