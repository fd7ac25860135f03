import ServiceLifecycle
import SwitchyardCore

/// Keeps a replica in step with the others: reloads as soon as the shared
/// store announces a change (PostgreSQL `LISTEN/NOTIFY`), and also every
/// `pollInterval` in case an announcement was lost.
public struct FleetSync: Service {
    let control: ControlPlane
    let store: any SharedStateStore
    let pollInterval: Duration

    public init(control: ControlPlane, store: any SharedStateStore, pollInterval: Duration = .seconds(2)) {
        self.control = control
        self.store = store
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in store.changes() {
                        await control.refreshFromStore()
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: pollInterval)
                        await control.refreshFromStore()
                    }
                }
                await group.waitForAll()
            }
        }
    }
}
