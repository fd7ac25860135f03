import Prometheus

/// The gateway's Prometheus metrics, with their help text.
/// (Computed: `MetricNameDescriptor` is not `Sendable`, so it cannot be a stored static.)
enum MetricNames {
    static var upstreamRequests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "upstream_requests", unitName: "total",
            helpText: "Upstream attempts by route, deployment and outcome (failovers count once per deployment tried)."
        )
    }
    static var upstreamSaturated: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "upstream_saturated", unitName: "total",
            helpText: "Attempts refused because every gateway connection to the upstream host was in use (serve --upstream-connections)."
        )
    }
    static var upstreamLatency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "upstream_latency", unitName: "seconds",
            helpText: "Time from sending a request upstream to the end of its reply."
        )
    }
    static var upstreamTimeToFirstToken: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "upstream_ttft", unitName: "seconds",
            helpText: "Time from sending a request upstream to its first reply bytes (first streamed chunk)."
        )
    }
    static var tokens: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "tokens", unitName: "total",
            helpText: "Tokens counted from upstream usage, by direction (input, output)."
        )
    }
    static var cost: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "cost", unitName: "total",
            helpText: "Cost of upstream usage at the deployment's configured price, in the price's currency."
        )
    }
    static var breakerState: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "breaker", unitName: "state",
            helpText: "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open."
        )
    }
    static var responses: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "responses", unitName: "total",
            helpText: "Responses sent to clients, by route and HTTP status."
        )
    }
    static var rolloutsFinished: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "rollouts_finished", unitName: "total",
            helpText: "Rollouts that ended while this process watched, by route, strategy and how (promoted, rolled_back, aborted, completed)."
        )
    }
    static var retirementCountdown: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", metricName: "model_retirement", unitName: "seconds",
            helpText: "Seconds until a model version in use retires (negative once retired), by provider, model, version and deployment type."
        )
    }
}
