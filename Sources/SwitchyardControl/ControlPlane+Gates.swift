import Foundation
import Logging
public import SwitchyardCore

/// The gates' measurements: each candidate against its baseline over the rollout's growing sample, and every evaluation kept.
extension ControlPlane {
    /// The gates of the route's rollout: each candidate against the stable
    /// deployment (A/B: against the control) over everything both served
    /// since the rollout began — one growing sample (`GateSample`, kept with
    /// the rollout), which is what keeps the anytime-valid intervals valid
    /// however often they are looked at. The plan's `window` no longer narrows
    /// it: a sliding window would drop the early data the guarantee is built on.
    func evaluateGates(_ name: String) async -> [GateVerdict] {
        guard let rollout = rollouts[name], let dataPlane else { return [] }
        let now = clock.now()
        let pairs: [(String, String)]
        let roles: GateEvaluator.Roles
        switch rollout.plan.strategy {
        case .ab:
            let variants = rollout.plan.split?.deploymentNames ?? []
            pairs = variants.dropFirst().map { (variants[0], $0) }
            roles = GateEvaluator.Roles(baseline: "control", candidate: "variant")
        default:
            pairs = [(rollout.stable, rollout.candidate ?? rollout.stable)]
            roles = .canary
        }
        let read = { (deployment: String, from: Int64, to: Int64) in dataPlane.aggregate(route: name, deployment: deployment, fromSecond: from, toSecond: to) }
        var sample = rollout.gateSample ?? GateSample(startedAt: rollout.startedAt)
        sample.fold(Array(Set(pairs.flatMap { [$0.0, $0.1] })).sorted(), now: now, read: read)
        rollouts[name]?.gateSample = sample
        let since = Moment(seconds: sample.since)
        let scores = (try? await scoreSummaries(route: name, since: since, until: now)) ?? [:]
        var verdicts: [GateVerdict] = []
        for (baseline, candidate) in pairs {
            let b = GateSide(figures: sample.figures(of: baseline, now: now, read: read), scores: scores[baseline] ?? ScoreSummary([]))
            var breakerOpen = false
            if case .open = dataPlane.breakerState(route: name, deployment: candidate) { breakerOpen = true }
            let c = GateSide(
                figures: sample.figures(of: candidate, now: now, read: read), scores: scores[candidate] ?? ScoreSummary([]),
                breakerOpen: breakerOpen
            )
            for var verdict in GateEvaluator.evaluate(rollout.plan.gates, baseline: b, candidate: c, roles: roles) {
                verdict.baselineName = baseline
                verdict.candidateName = candidate
                verdicts.append(verdict)
            }
        }
        return verdicts
    }

    func scoreSummaries(route: String, since: Moment, until: Moment) async throws(ControlError) -> [String: ScoreSummary] {
        let feedback: [Feedback]
        do {
            feedback = try await store.feedback(route: route, sinceMilliseconds: since.nanoseconds / 1_000_000)
        } catch {
            throw .storing(error)
        }
        let limit = until.nanoseconds / 1_000_000
        var scores: [String: [Double]] = [:]
        for entry in feedback where entry.atMilliseconds <= limit {
            guard let deployment = entry.deployment else { continue }
            scores[deployment, default: []].append(entry.score)
        }
        return scores.mapValues { ScoreSummary($0) }
    }

    func windowFigures(route: String, deployment: String, from: Moment, to: Moment) -> MetricsWindow.Bucket {
        guard let dataPlane else { return MetricsWindow.Bucket(start: 0) }
        let start = from.nanoseconds / 1_000_000_000
        return dataPlane.aggregate(route: route, deployment: deployment, fromSecond: start - start % MetricsWindow.bucketSeconds, toSecond: to.nanoseconds / 1_000_000_000 + 1)
    }

    /// A rollout's gate evaluations from the store, newest first: all of them, not only the latest the rollout keeps.
    public func evaluationHistory(_ name: String, limit: Int, beforeID: Int64?) async throws(ControlError) -> (rollout: Rollout, evaluations: [(id: Int64, RolloutView.Evaluation)]) {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "list the evaluations of") }
        let stored: [StoredEvaluation]
        do {
            stored = try await store.evaluations(rolloutID: rollout.id, limit: limit, beforeID: beforeID)
        } catch {
            throw .storing(error)
        }
        let decoder = JSONDecoder()
        return (rollout, stored.compactMap { entry in
            (try? decoder.decode(Rollout.Evaluation.self, from: Data(entry.document.utf8))).map { (entry.id, RolloutView.Evaluation($0)) }
        })
    }

    func keep(_ evaluation: Rollout.Evaluation, of rollout: Rollout) async {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let document = String(decoding: try encoder.encode(evaluation), as: UTF8.self)
            try await store.appendEvaluation(rolloutID: rollout.id, atMilliseconds: evaluation.at.nanoseconds / 1_000_000, document: document)
        } catch {
            logger.error("could not keep an evaluation of the rollout on \(rollout.route): \(error)")
        }
    }
}
