public import ServiceLifecycle
import SwitchyardCore

/// Moves rollouts along: every `interval` the control plane hands the
/// current time to each active rollout, which may run its gates, end a timed
/// step, or pass its deadline.
public struct RolloutDriver: Service {
    let control: ControlPlane
    let interval: Duration

    public init(control: ControlPlane, interval: Duration = .seconds(1)) {
        self.control = control
        self.interval = interval
    }

    public func run() async throws {
        await control.resumeRollouts()
        let control = control
        await repeatUntilShutdown(every: interval) { await control.tickRollouts() }
    }
}
