import Foundation
import SwitchyardCore
import SwitchyardTUI

extension ConsoleState {
    /// The STATE column: `canary 3/5`, `‖ canary 3/5`, `✖ rolled back`.
    func rolloutCell(_ route: Route) -> TableWidget.Item {
        guard let rollout = rollouts[route.name] else { return TableWidget.Item("pinned", Style(.dim)) }
        let (glyph, role) = Self.stateMark(rollout.state, glyphs: glyphs)
        let where_ = rollout.strategy == "canary" ? "canary \(rollout.step)/\(rollout.steps)" : rollout.strategy
        switch rollout.state {
        case .progressing: return TableWidget.Item("\(where_)", Style(isStale ? .stale : .accent))
        case .paused: return TableWidget.Item("\(glyph) \(where_)", Style(isStale ? .stale : role, bold: true))
        default: return TableWidget.Item("\(glyph) \(Self.stateWord(rollout.state))", Style(isStale ? .stale : role))
        }
    }

    static func stateMark(_ state: Rollout.State, glyphs: Glyphs) -> (String, StyleRole) {
        switch state {
        case .progressing: (glyphs.pointer, .accent)
        case .paused: (glyphs.unicode ? "‖" : "=", .warning)
        case .promoted, .completed: (glyphs.ok, .good)
        case .rolledBack, .aborted: (glyphs.fail, .bad)
        }
    }

    static func stateWord(_ state: Rollout.State) -> String {
        switch state {
        case .rolledBack: "rolled back"
        default: state.rawValue
        }
    }

    /// Two rows in the route detail: where the rollout is and when it moves
    /// next (or why it stopped), then the last gate verdicts with their figures.
    func drawRollout(_ rollout: RolloutView, into buffer: inout Buffer, x: Int, y: Int, width: Int) {
        let clip = Rect(x: x, y: y, width: width, height: 2)
        let nowMilliseconds = now.nanoseconds / 1_000_000
        var column = buffer.write("rollout ", x: x, y: y, style: Style(.header, bold: true), clip: clip)
        let (glyph, role) = Self.stateMark(rollout.state, glyphs: glyphs)
        column = buffer.write("\(rollout.strategy) ", x: column, y: y, style: Style(.text, bold: true), clip: clip)
        if rollout.strategy == "canary", rollout.steps > 0 {
            // Steps done, as a gauge: a finished rollout is full.
            let done = rollout.state.isActive ? rollout.step.saturatingSubtracting(1) : rollout.steps
            let label = "step \(rollout.step)/\(rollout.steps)"
            let gauge = Rect(x: column, y: y, width: min(8, rollout.steps.saturatingMultiplied(by: 2)) + 1 + CharacterWidth.of(label), height: 1).intersection(clip)
            GaugeWidget(fraction: Double(done) / Double(rollout.steps), label: label, style: Style(.text, bold: true)).render(into: &buffer, area: gauge, glyphs: glyphs)
            column = gauge.maxX + 1
        } else {
            column = buffer.write("\(rollout.progress) ", x: column, y: y, style: Style(.text, bold: true), clip: clip)
        }
        column = buffer.write("\(glyph) \(Self.stateWord(rollout.state))", x: column, y: y, style: Style(role, bold: true), clip: clip)
        var tail: [String] = []
        if rollout.state == .progressing, let next = rollout.nextStepAtMilliseconds {
            tail.append("next step in " + Countdown.short(untilMilliseconds: next, nowMilliseconds: nowMilliseconds))
        }
        if rollout.state.isActive, let ends = rollout.endsAtMilliseconds {
            let label = rollout.strategy == "canary" ? "deadline" : rollout.strategy == "bluegreen" ? "old slot kept" : "ends"
            tail.append("\(label) in " + Countdown.short(untilMilliseconds: ends, nowMilliseconds: nowMilliseconds))
        }
        if rollout.state != .progressing || tail.isEmpty { tail.append(rollout.reason) }
        buffer.write("  " + tail.joined(separator: " · "), x: column, y: y, style: Style(rollout.state == .progressing ? .dim : role), clip: clip)

        let row = y + 1
        // The gates judge everything since the rollout started (an anytime-valid
        // sample), not the watched window: the line says so where there is room.
        column = buffer.write("gates ", x: x, y: row, style: Style(.header, bold: true), clip: clip)
        if width >= 100 { column = buffer.write("(since start) ", x: column, y: row, style: Style(.dim), clip: clip) }
        guard let evaluation = rollout.lastEvaluation else {
            let text: String
            if rollout.gates.isEmpty {
                text = "none in this plan"
            } else if let next = rollout.nextEvaluationAtMilliseconds {
                text = "\(rollout.gates.joined(separator: ", ")) · first verdict in " + Countdown.short(untilMilliseconds: next, nowMilliseconds: nowMilliseconds)
            } else {
                text = rollout.gates.joined(separator: ", ")
            }
            buffer.write(text, x: column, y: row, style: Style(.dim), clip: clip)
            return
        }
        for verdict in evaluation.verdicts {
            let segment = Self.verdictText(verdict, glyphs: glyphs)
            guard column + CharacterWidth.of(segment) <= x + width else { break }
            let role: StyleRole = switch verdict.result {
            case .pass: .good
            case .fail: .bad
            case .inconclusive, .noData: .warning
            }
            column = buffer.write(segment, x: column, y: row, style: Style(role, bold: verdict.result == .fail), clip: clip)
            column += 2
        }
    }

    /// One line per variant — n, error rate, p95, cost, score with its
    /// interval, p-values against the control — then the verdict in words.
    /// Returns the row after the last one drawn.
    func drawReport(_ report: ExperimentReport, into buffer: inout Buffer, x: Int, y: Int, width: Int) -> Int {
        var row = y
        for variant in report.variants {
            let clip = Rect(x: x, y: row, width: width, height: 1)
            var column = buffer.write(variant.role == "control" ? "  control " : variant.role == "shadow" ? "  shadow  " : "  variant ", x: x, y: row, style: Style(.dim), clip: clip)
            column = buffer.write(variant.name, x: column, y: row, style: Style(variant.role == "control" ? .stable : .canary, bold: true), clip: clip)
            var parts = ["n=\(variant.requests)"]
            if let rate = variant.errorRatePercent { parts.append(String(format: "err %.2f%%", rate)) }
            if let latency = variant.latencyMs { parts.append(String(format: "p95 %.0fms", latency.p95)) }
            if let cost = variant.costPerRequest { parts.append(String(format: "$/req %.4f", cost)) }
            if let score = variant.score {
                var text = String(format: "score %.2f", score.mean)
                if let low = score.low, let high = score.high { text += String(format: " (%.2f–%.2f)", low, high) }
                parts.append(text)
            }
            // The anytime intervals against the control: the report's verdict is made on them.
            for (label, interval, ratio) in [("errΔ", variant.errorRateDeltaInterval, false), ("p95×", variant.latencyP95RatioInterval, true), ("scoreΔ", variant.scoreDeltaInterval, false)] {
                if let interval { parts.append("\(label) [\(interval.endsText(ratio: ratio, separator: "…"))]") }
            }
            buffer.write("  " + parts.joined(separator: "  "), x: column, y: row, style: Style(.text), clip: clip)
            row += 1
        }
        if let shadow = report.shadow {
            let text = "  mirrored \(shadow.mirrored) · compared \(shadow.compared) · dropped \(shadow.droppedQueueFull.saturatingAdding(shadow.droppedBudget))"
                + (shadow.exactMatchPercent.map { String(format: " · identical %.0f%%", $0) } ?? "")
                + (shadow.similarity.map { String(format: " · similarity %.2f", $0.mean) } ?? "")
            buffer.write(text, x: x, y: row, style: Style(.dim), clip: Rect(x: x, y: row, width: width, height: 1))
            row += 1
        }
        buffer.write("  " + report.summary, x: x, y: row, style: Style(.accent), clip: Rect(x: x, y: row, width: width, height: 1))
        return row + 1
    }

    /// `✘ err Δ +1.8pp [+0.9…+2.7] n=498/4812`: the measured figure, its
    /// anytime interval (the decision is made on it), n canary/stable.
    static func verdictText(_ verdict: GateVerdict, glyphs: Glyphs) -> String {
        let mark = switch verdict.result {
        case .pass: glyphs.ok
        case .fail: glyphs.fail
        case .inconclusive: "?"
        case .noData: "–"
        }
        let name = switch verdict.metric {
        case .errorRateDelta: "err Δ"
        case .p95LatencyRatio: "p95 ×"
        case .ttftP95Ratio: "ttft ×"
        case .costPerRequestRatio: "$/req ×"
        case .rate429: "429"
        case .contentFilterRate: "filter Δ"
        case .qualityScore: "score Δ"
        case .circuitBreaker: "breaker"
        }
        if verdict.metric == .circuitBreaker { return "\(mark) \(name) \(verdict.result == .fail ? "open" : "closed")" }
        guard let measured = verdict.measured else { return "\(mark) \(name) no data" }
        let unit = verdict.figureUnit.trimmingCharacters(in: .whitespaces)
        let value = verdict.metric == .rate429 && verdict.interval == nil
            ? String(format: "%.1f%%", verdict.candidate ?? 0) : verdict.figureText(measured) + unit
        var text = "\(mark) \(name) \(value)"
        if let interval = verdict.interval {
            text += " [" + interval.endsText(ratio: verdict.comparesRatio, separator: "…") { verdict.intervalEndText($0, isLow: $1) } + "]"
        }
        text += " n=\(verdict.candidateSamples)/\(verdict.baselineSamples)"
        guard !glyphs.unicode else { return text }
        // The ASCII glyph set is for terminals that cannot show the rest.
        for (symbol, plain) in [("−", "-"), ("∞", "inf"), ("…", ".."), ("×", "x"), ("Δ", "d")] {
            text = text.replacingOccurrences(of: symbol, with: plain)
        }
        return text
    }
}
