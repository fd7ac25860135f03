import ArgumentParser
import NIOCore
import NIOPosix

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Progressive delivery for LLM model versions: a gateway that splits traffic across pinned model deployments.",
        subcommands: [Serve.self, Simulate.self]
    )

    @MainActor
    static func main() async {
        // Run Swift concurrency on NIO's event loops, so a request does not hop
        // between the concurrency pool and the loop that owns its sockets. This
        // must happen on the main thread before the command starts any task.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }
}
