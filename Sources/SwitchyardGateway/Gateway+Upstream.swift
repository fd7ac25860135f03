import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// What one attempt needs to know.
struct AttemptContext: Sendable {
    let route: InstalledRoute
    let index: Int
    let chat: ClientRequest
    let clientKey: ClientKey?
    let probe: Bool
    /// 1 for the first attempt, 2 after one failover, …
    let attempt: Int
    /// The client's headers that go upstream with the request.
    var forwarded: [(String, String)] = []
    /// What this deployment's `enforce` changed in the request.
    var enforced: [String] = []
    /// The request's access-log and trace record, when either is on.
    var trail: RequestTrail? = nil

    var target: UpstreamTarget { route.targets[index] }
    var runtime: DeploymentRuntime { route.runtimes[index] }
    var deployment: Deployment { target.deployment }
}

/// What an attempt's outcome is recorded against: all a long stream keeps
/// of its ``AttemptContext`` (not the client's request, which may be large).
struct AttemptAccount: Sendable {
    let runtime: DeploymentRuntime
    let deployment: Deployment
    let probe: Bool
    let clientKey: ClientKey?
    let trail: RequestTrail?

    init(_ context: AttemptContext) {
        runtime = context.runtime
        deployment = context.deployment
        probe = context.probe
        clientKey = context.clientKey
        trail = context.trail
    }
}

enum AttemptResult: Sendable {
    /// Something to send to the client: a reply, or an error that failing over cannot fix.
    case response(Response)
    /// Nothing reached the client; another deployment may be tried.
    case failed(AttemptFailure)
}

extension Gateway {
    /// One attempt, with its own span when tracing is on (its context goes
    /// upstream in `traceparent`).
    func attemptUpstream(_ context: AttemptContext) async -> AttemptResult {
        guard let trail = context.trail else { return await attemptUpstreamOnce(context) }
        var context = context
        trail.startAttempt(context, headers: &context.forwarded)
        let result = await attemptUpstreamOnce(context)
        switch result {
        case .failed(let failure):
            trail.endAttempt(status: nil, failure: failure.kind.code, detail: failure.kind.description)
        case .response(let response):
            // A stream's attempt ends with the stream.
            if !trail.isStreaming { trail.endAttempt(status: Int(response.status.code), failure: nil) }
        }
        return result
    }

    private func attemptUpstreamOnce(_ context: AttemptContext) async -> AttemptResult {
        var context = context
        let deployment = context.deployment
        let started = clock.now()
        let body = context.chat.upstreamBody(for: deployment)
        context.enforced = body.enforced
        let request = context.target.makeRequest(context.chat.operation, body: body.bytes, stream: context.chat.isStream, forwarding: context.forwarded)
        let reply: any UpstreamReply
        do {
            reply = try await context.target.transport.send(request, headDeadline: .after(deployment.timeouts.firstToken))
        } catch {
            return failBeforeReply(context, error: error, started: started)
        }
        context.trail?.noteUpstreamReply(reply.headers)
        switch reply.status {
        case 200..<300:
            if context.chat.isStream, reply.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true {
                return await streamReply(context, reply: reply, started: started)
            }
            return await bufferedReply(context, reply: reply, started: started)
        case 429:
            let retryAfter = Self.retryAfter(reply.headers) ?? .seconds(1)
            _ = await reply.drain()
            let now = clock.now()
            context.runtime.record(
                .init(outcome: .upstream429, latency: now - started),
                breakerOutcome: .throttled(until: now + retryAfter),
                probe: context.probe,
                now: now
            )
            logger.debug("upstream 429", metadata: ["deployment": "\(deployment.name)", "retryAfter": "\(retryAfter)"])
            return .failed(AttemptFailure(deployment: deployment.name, kind: .throttled, retryAfter: retryAfter))
        case 401, 403:
            _ = await reply.drain()
            let now = clock.now()
            context.runtime.record(.init(outcome: .client4xx, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
            logger.warning("upstream refused the gateway's credentials", metadata: ["deployment": "\(deployment.name)", "status": "\(reply.status)"])
            return .failed(AttemptFailure(deployment: deployment.name, kind: .failed("upstream refused the gateway's credentials (\(reply.status)); check apiKeyEnv")))
        case 400..<500:
            // The request itself is at fault (or a content filter refused it):
            // another deployment would refuse it too, so the client gets it as is.
            let body = await reply.drain() ?? ByteBuffer()
            let now = clock.now()
            let outcome: RequestOutcome = ReplyScan.isContentFilterError(body.readableBytesView) ? .contentFilter : .client4xx
            context.runtime.record(.init(outcome: outcome, latency: now - started), breakerOutcome: .success, probe: context.probe, now: now)
            var headers = replyHeaders(context, upstream: reply.headers)
            headers[.contentType] = reply.headers.first(name: "content-type") ?? "application/json"
            return .response(Response(status: .init(code: Int(reply.status)), headers: headers, body: ResponseBody(byteBuffer: body)))
        default:
            _ = await reply.drain()
            let now = clock.now()
            context.runtime.record(.init(outcome: .upstream5xx, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
            return .failed(AttemptFailure(deployment: deployment.name, kind: .failed("upstream answered \(reply.status)")))
        }
    }

    /// An error before any reply: a connect failure or the first-token deadline.
    private func failBeforeReply(_ context: AttemptContext, error: UpstreamError, started: Moment) -> AttemptResult {
        let now = clock.now()
        let name = context.deployment.name
        if Task.isCancelled || error == .cancelled {
            context.runtime.abandon(probe: context.probe, now: now)
            return .failed(AttemptFailure(deployment: name, kind: .failed("client went away")))
        }
        if case .saturated = error {
            // The gateway's own limit, not the upstream's health: the breaker
            // and the error-rate window are left alone.
            context.runtime.abandon(probe: context.probe, now: now)
            context.runtime.countSaturated()
            logger.debug("upstream connection cap reached", metadata: ["deployment": "\(name)", "error": "\(error)"])
            return .failed(AttemptFailure(deployment: name, kind: .saturated(error.description), retryAfter: .seconds(1)))
        }
        let outcome: RequestOutcome
        let kind: AttemptFailure.Kind
        switch error {
        case .timedOut:
            outcome = .timeout
            kind = .timeout(.firstToken)
        case .connectTimeout:
            outcome = .connectFailure
            kind = .failed("connect timed out after \(DurationText.format(context.deployment.timeouts.connect))")
        default:
            outcome = .connectFailure
            kind = .failed(error.description)
        }
        context.runtime.record(.init(outcome: outcome, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
        logger.debug("upstream attempt failed", metadata: ["deployment": "\(name)", "error": "\(error)"])
        return .failed(AttemptFailure(deployment: name, kind: kind))
    }

    // MARK: Non-streamed replies

    private func bufferedReply(_ context: AttemptContext, reply: any UpstreamReply, started: Moment) async -> AttemptResult {
        let headAt = clock.now()
        let remaining = context.deployment.timeouts.total - (headAt - started)
        let body: ByteBuffer
        do {
            body = try await reply.collect(upTo: options.maxReplyBytes, deadline: .after(remaining))
        } catch {
            let now = clock.now()
            if Task.isCancelled || error == .cancelled {
                context.runtime.abandon(probe: context.probe, now: now)
                return .failed(AttemptFailure(deployment: context.deployment.name, kind: .failed("client went away")))
            }
            let timedOut = error == .timedOut
            context.runtime.record(
                .init(outcome: timedOut ? .timeout : .cutStream, latency: now - started),
                breakerOutcome: .failure,
                probe: context.probe,
                now: now
            )
            return .failed(
                AttemptFailure(deployment: context.deployment.name, kind: timedOut ? .timeout(.total) : .failed(error.description))
            )
        }
        let now = clock.now()
        guard ReplyScan.isWholeJSONObject(body.readableBytesView) else {
            // An empty or cut-off body under a 200 is not an answer: nothing has
            // gone to the client yet, so it fails over, and it counts against
            // the deployment like a broken stream.
            context.runtime.record(.init(outcome: .cutStream, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
            return .failed(
                AttemptFailure(deployment: context.deployment.name, kind: .failed("upstream answered \(reply.status) with a body that is not a whole JSON object (\(body.readableBytes) bytes)"))
            )
        }
        let facts = context.chat.operation == .responses ? ReplyFacts(responsesReply: body.readableBytesView) : ReplyFacts(scanning: body.readableBytesView)
        recordSuccess(
            context,
            usage: facts.usage,
            contentFiltered: facts.finishedByContentFilter,
            latency: now - started,
            timeToFirstToken: headAt - started,
            now: now
        )
        let routeName = context.route.plan.route.name
        if let id = facts.id {
            ledger.record(id, route: routeName, deployment: context.deployment.name)
            if context.chat.operation == .responses {
                await rememberResponse(id, route: routeName, deployment: context.deployment.name, clientKey: context.clientKey?.name)
            }
        }
        if let trail = context.trail, trail.logsContent {
            trail.update { $0.replyContent = Array(body.readableBytesView.prefix(RequestTrail.maximumContentBytes)) }
        }
        if context.chat.operation == .chatCompletions, let mirror = shadowMirror(route: routeName) {
            mirror.offer(context.chat, primaryDeployment: context.deployment.name, primaryBody: body, primaryLatency: now - started)
        }
        var headers = replyHeaders(context, upstream: reply.headers)
        headers[.contentType] = reply.headers.first(name: "content-type") ?? "application/json"
        return .response(Response(status: .init(code: Int(reply.status)), headers: headers, body: ResponseBody(byteBuffer: body)))
    }

    func recordSuccess(
        _ context: AttemptContext,
        usage: TokenUsage?,
        contentFiltered: Bool,
        latency: Duration,
        timeToFirstToken: Duration?,
        now: Moment
    ) {
        recordSuccess(
            AttemptAccount(context), usage: usage, contentFiltered: contentFiltered, latency: latency, timeToFirstToken: timeToFirstToken, now: now
        )
    }

    func recordSuccess(
        _ account: AttemptAccount,
        usage: TokenUsage?,
        contentFiltered: Bool,
        latency: Duration,
        timeToFirstToken: Duration?,
        now: Moment
    ) {
        let prompt = usage?.promptTokens ?? 0
        let completion = usage?.completionTokens ?? 0
        let cost = account.deployment.price.cost(promptTokens: prompt, completionTokens: completion)
        account.trail?.update { facts in
            facts.usage = usage
            facts.cost = usage == nil ? nil : cost
            facts.timeToFirstToken = timeToFirstToken
        }
        account.runtime.record(
            .init(
                outcome: contentFiltered ? .contentFilter : .success,
                latency: latency,
                timeToFirstToken: timeToFirstToken,
                promptTokens: prompt,
                completionTokens: completion,
                cost: cost
            ),
            breakerOutcome: .success,
            probe: account.probe,
            now: now
        )
        if let key = account.clientKey {
            access.charge(key, tokens: prompt + completion, now: now)
        }
    }

    // MARK: Helpers

    /// The `x-switchyard-*` headers of a reply from this attempt, and the
    /// upstream's own headers clients rely on.
    func replyHeaders(_ context: AttemptContext, upstream: HTTPHeaders? = nil) -> HTTPFields {
        var headers = HTTPFields()
        headers.reserveCapacity(8)
        headers[.switchyardDeployment] = context.deployment.name
        headers[.switchyardModelVersion] = context.deployment.modelVersion
        headers[.switchyardRouteRevision] = context.route.revisionHeader
        headers[.switchyardAttempts] = String(context.attempt)
        if !context.enforced.isEmpty { headers[.switchyardEnforced] = context.enforced.joined(separator: ", ") }
        if let upstream { HeaderPassThrough.returned(from: upstream, into: &headers) }
        return headers
    }

    /// `retry-after-ms` or `Retry-After`, bounded by ``RetryAfter`` (HTTP dates are not used by model providers).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        RetryAfter.parse(milliseconds: headers.first(name: "retry-after-ms"), seconds: headers.first(name: "retry-after"))
    }
}
