public import ServiceLifecycle
public import SwitchyardCore

/// Keeps a replica in step with the others: reloads as soon as the shared
/// store announces a change (PostgreSQL `LISTEN/NOTIFY`), and also every
/// `pollInterval` in case an announcement was lost.
public struct FleetSync: Service {
    let control: ControlPlane
    let store: any SharedStateStore
    let pollInterval: Duration
    /// Told after every refresh whether the store answered (`nil`) or why not.
    let report: @Sendable (String?) -> Void

    public init(
        control: ControlPlane, store: any SharedStateStore, pollInterval: Duration = .seconds(2),
        report: @escaping @Sendable (String?) -> Void = { _ in }
    ) {
        self.control = control
        self.store = store
        self.pollInterval = pollInterval
        self.report = report
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in store.changes() {
                        await control.refreshFromStore()
                        report(await control.storeProblem)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        await control.refreshFromStore()
                        report(await control.storeProblem)
                    }
                }
                await group.waitForAll()
            }
        }
    }
}
