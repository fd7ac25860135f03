import Foundation
public import SwitchyardCore

extension CtlFormat {
    /// A rollout: where it is, why, when it moves next, and the last gate
    /// verdicts with the figures behind them.
    public static func rollout(_ view: RolloutView, nowMilliseconds: Int64) -> String {
        var lines: [String] = []
        var head = "\(view.route)  \(view.strategy)"
        if let candidate = view.candidate { head += " \(candidate)" }
        head += "  \(view.state.rawValue)  \(view.progress)"
        if let percent = view.canaryPercent { head += "  canary \(Weight.format(percent: percent))%" }
        lines.append(head)
        lines.append("  \(view.reason)")
        var timing: [String] = []
        if let next = view.nextStepAtMilliseconds { timing.append("next step in \(Countdown.short(untilMilliseconds: next, nowMilliseconds: nowMilliseconds))") }
        if let next = view.nextEvaluationAtMilliseconds { timing.append("next evaluation in \(max(0, next.saturatingSubtracting(nowMilliseconds).saturatingAdding(999) / 1000))s") }
        if let ends = view.endsAtMilliseconds, view.state == .progressing || view.state == .paused {
            let label = view.strategy == "canary" ? "deadline" : (view.strategy == "bluegreen" ? "previous slot released" : "ends")
            timing.append("\(label) in \(Countdown.short(untilMilliseconds: ends, nowMilliseconds: nowMilliseconds))")
        }
        if !timing.isEmpty { lines.append("  " + timing.joined(separator: "   ")) }
        if !view.gates.isEmpty {
            lines.append("  gates every \(view.interval) on everything since the start (anytime-valid); inconclusive → \(view.onInconclusive), no data → \(view.onNoData)")
        }
        var text = lines.joined(separator: "\n") + "\n"
        if let evaluation = view.lastEvaluation {
            text += "\n" + verdicts(evaluation.verdicts, at: evaluation.atMilliseconds, overall: evaluation.overall)
        }
        if !view.transitions.isEmpty {
            text += "\n" + table(
                ["TIME", "ACTION", "ACTOR", "DETAIL"],
                view.transitions.suffix(10).map { [clockTime($0.atMilliseconds), $0.action, $0.actor, $0.detail] }
            )
        }
        return text
    }

    /// The verdicts of one evaluation, one gate per row with its anytime
    /// interval, then each gate's sentence: what was measured, the interval,
    /// the samples per side, the limit and what follows.
    public static func verdicts(_ verdicts: [GateVerdict], at milliseconds: Int64, overall: GateVerdict.Result) -> String {
        let glyph: [GateVerdict.Result: String] = [.pass: "✔ pass", .fail: "✘ fail", .inconclusive: "? inconclusive", .noData: "– no data"]
        var text = "gates at \(clockTime(milliseconds)): \(glyph[overall] ?? overall.rawValue)\n"
        text += table(
            ["GATE", "RESULT", "BASELINE", "CANDIDATE", "MEASURED", "ANYTIME INTERVAL", "LIMIT", "N CANDIDATE/BASELINE"],
            verdicts.map { verdict in
                [
                    verdict.candidateName.map { "\(verdict.metric.rawValue) (\($0))" } ?? verdict.metric.rawValue,
                    glyph[verdict.result] ?? verdict.result.rawValue,
                    figure(verdict.baseline, unit: verdict.unit), figure(verdict.candidate, unit: verdict.unit),
                    verdict.measuredText ?? "-",
                    verdict.intervalText.map { "\($0) (\(GateEvaluator.format(verdict.confidence * 100)) %)" } ?? "-",
                    verdict.threshold,
                    "\(verdict.candidateSamples)/\(verdict.baselineSamples)",
                ]
            }
        )
        for verdict in verdicts where !verdict.reason.isEmpty {
            text += "  \(verdict.metric.rawValue): \(verdict.reason)\n"
        }
        return text
    }

    /// An A/B or shadow report: one row per variant, then the verdict in words.
    public static func report(_ report: ExperimentReport) -> String {
        var text = "\(report.route)  \(report.strategy)  \(report.state)  \(clockTime(report.fromMilliseconds)) → \(clockTime(report.toMilliseconds))\n"
        text += table(
            [
                "VARIANT", "ROLE", "N", "ERR%", "P50MS", "P95MS", "P99MS", "TTFT95", "TOK/REQ", "$/REQ", "SCORE (95% CI)", "ERR Δ PP (ANYTIME 95%)",
                "P95 × (ANYTIME 95%)", "SCORE Δ (ANYTIME 95%)",
            ],
            report.variants.map { variant in
                let score = variant.score.map { score in
                    number(score.mean, digits: 2) + (score.low.map { low in " (\(number(low, digits: 2))–\(number(score.high ?? low, digits: 2)))" } ?? "")
                }
                return [
                    variant.name, variant.role, String(variant.requests), variant.errorRatePercent.map { number($0, digits: 2) } ?? "-",
                    variant.latencyMs.map { number($0.p50, digits: 0) } ?? "-", variant.latencyMs.map { number($0.p95, digits: 0) } ?? "-",
                    variant.latencyMs.map { number($0.p99, digits: 0) } ?? "-", variant.timeToFirstTokenMs.map { number($0.p95, digits: 0) } ?? "-",
                    variant.tokensPerRequest.map { number($0, digits: 1) } ?? "-", variant.costPerRequest.map { String(format: "%.5f", $0) } ?? "-",
                    score ?? "-", interval(variant.errorRateDeltaInterval, ratio: false), interval(variant.latencyP95RatioInterval, ratio: true),
                    interval(variant.scoreDeltaInterval, ratio: false),
                ]
            }
        )
        if let shadow = report.shadow {
            text += "mirrored \(shadow.mirrored), compared \(shadow.compared), shadow errors \(shadow.shadowErrors), "
            text += "dropped \(shadow.droppedQueueFull) (queue full) + \(shadow.droppedBudget) (budget); shadow spent \(shadow.shadowTokens) tokens\n"
        }
        return text + report.summary + "\n"
    }

    static func figure(_ value: Double?, unit: String) -> String {
        guard let value else { return "-" }
        switch unit {
        case "%": return number(value, digits: 2) + " %"
        case "ms": return number(value, digits: 0) + " ms"
        case "$": return String(format: "%.5f", value)
        default: return number(value, digits: 3)
        }
    }

    static func number(_ value: Double, digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// `+0.3 … +2.1`, `1.12 … ∞`, or `-` without one.
    static func interval(_ interval: AnytimeInterval?, ratio: Bool) -> String {
        interval?.endsText(ratio: ratio) ?? "-"
    }

    /// `03:04:31Z`.
    public static func clockTime(_ milliseconds: Int64) -> String {
        let seconds = (milliseconds / 1000) % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(seconds / 3600)):\(two((seconds % 3600) / 60)):\(two(seconds % 60))Z"
    }
}

extension CtlFormat {
    /// Each kept pair: when, how alike, how fast, then the request and both replies.
    public static func samples(_ view: ShadowSamplesView) -> String {
        guard view.capture > 0 else {
            return "\(view.route): this rollout keeps no samples (add \"capture\": N to a shadow plan)\n"
        }
        guard !view.samples.isEmpty else {
            return "\(view.route): no pairs yet (keeps the newest \(view.capture))\n"
        }
        var text = ""
        for sample in view.samples {
            let shadowLatency = sample.shadowLatencyMs.map { String(format: "%.0f ms", $0) } ?? "—"
            text += "\(clockTime(sample.atMilliseconds))  similarity \(String(format: "%.2f", sample.similarity))  "
                + "latency \(String(format: "%.0f ms", sample.primaryLatencyMs)) / \(shadowLatency)  tokens \(sample.primaryTokens) / \(sample.shadowTokens)\n"
            text += "  request  \(sample.request.replacingOccurrences(of: "\n", with: " "))\n"
            text += "  \(sample.primaryDeployment)  \(sample.primaryText.replacingOccurrences(of: "\n", with: " "))\n"
            text += "  \(sample.shadowDeployment)  " + (sample.shadowError.map { "error: \($0)" } ?? sample.shadowText.replacingOccurrences(of: "\n", with: " ")) + "\n\n"
        }
        return text
    }
}
