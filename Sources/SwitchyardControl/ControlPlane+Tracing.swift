import SwitchyardCore
public import Tracing

extension ControlPlane {
    /// Sends rollout transitions as spans to `tracer`.
    public func attach(tracer: any Tracer) {
        self.tracer = tracer
    }

    /// One rollout transition as a span of its own: a child of the
    /// management-API call that caused it (a pause, a promotion), or a trace
    /// of its own when the engine moved the rollout.
    func traceTransition(_ route: String, _ transition: Rollout.Transition) {
        guard let tracer else { return }
        let span = tracer.startSpan("rollout \(transition.action)", context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        let rollout = rollouts[route]
        span.updateAttributes { attributes in
            attributes["switchyard.route"] = route
            attributes["switchyard.rollout.action"] = transition.action
            attributes["switchyard.rollout.state"] = transition.state.rawValue
            attributes["switchyard.rollout.step"] = transition.step
            attributes["switchyard.actor"] = transition.actor
            attributes["switchyard.rollout.detail"] = String(transition.detail.prefix(1000))
            if let rollout {
                attributes["switchyard.rollout.id"] = rollout.id
                attributes["switchyard.rollout.strategy"] = rollout.plan.strategy.rawValue
            }
        }
        span.end()
    }
}
