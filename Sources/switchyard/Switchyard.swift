import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Progressive delivery for LLM model versions: a gateway that splits traffic across pinned model deployments.",
        subcommands: [Serve.self, Simulate.self]
    )
}
