public import ServiceLifecycle
import SwitchyardCore

/// Re-reads the lifecycle calendar every minute: versions retire and
/// countdowns cross their thresholds while the server runs.
public struct LifecycleMonitor: Service {
    let control: ControlPlane
    let interval: Duration

    public init(control: ControlPlane, interval: Duration = .seconds(60)) {
        self.control = control
        self.interval = interval
    }

    public func run() async throws {
        let control = control
        await repeatUntilShutdown(every: interval) { await control.evaluateLifecycle() }
    }
}
