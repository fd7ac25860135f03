/// Splits a streamed chat-completions reply into its server-sent events as the
/// bytes arrive, without decoding or re-encoding them: the gateway forwards
/// each event's original bytes, and only looks inside for the few facts it
/// needs (end of stream, token usage, a content-filter stop, an error).
public struct ServerSentEventSplitter: Sendable {
    /// One complete event, with the bytes that carried it (terminator included).
    public struct Event: Sendable {
        public var bytes: ArraySlice<UInt8>
        public var kind: Kind
    }

    public enum Kind: Hashable, Sendable {
        /// An ordinary chunk, forwarded as is; some providers put usage in
        /// every chunk, so it may carry running token counts.
        case chunk(usage: TokenUsage?, finishedByContentFilter: Bool)
        /// The usage-only chunk sent last when `include_usage` is on.
        case usage(TokenUsage)
        /// `data: [DONE]`.
        case done
        /// A Responses API terminal event (`response.completed`,
        /// `response.incomplete`), with the reply's token counts.
        case finished(usage: TokenUsage?)
        /// `data: {"error": …}` from the upstream.
        case error
        /// A comment or other non-data event (keep-alives).
        case other
    }

    private var pending: [UInt8] = []
    /// How much of `pending` has been searched for a terminator already, so a
    /// stream trickled a byte at a time is not searched from its start again
    /// on every byte (quadratic in the event's size).
    private var searched = 0
    /// Events larger than this are a broken upstream, not a reply.
    public static let maximumEventBytes = 4 << 20

    public init() {}

    /// Bytes received but not yet part of a complete event.
    public var pendingByteCount: Int { pending.count }

    /// Feeds the next bytes of the stream; returns the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(SplitterError) -> [Event] {
        pending.append(contentsOf: bytes)
        var events: [Event] = []
        var start = pending.startIndex
        // A terminator is at most four bytes: look again only at the last three searched.
        var index = max(start, searched - 3)
        let end = pending.endIndex
        while index < end {
            // An event ends at a blank line: "\n\n" or "\r\n\r\n".
            if pending[index] == UInt8(ascii: "\n") {
                let next = index + 1
                var terminatorEnd: Int?
                if next < end, pending[next] == UInt8(ascii: "\n") {
                    terminatorEnd = next + 1
                } else if next + 1 < end, pending[next] == UInt8(ascii: "\r"), pending[next + 1] == UInt8(ascii: "\n") {
                    terminatorEnd = next + 2
                }
                if let terminatorEnd {
                    let slice = pending[start..<terminatorEnd]
                    events.append(Event(bytes: slice, kind: Self.classify(slice)))
                    start = terminatorEnd
                    index = terminatorEnd
                    continue
                }
            }
            index += 1
        }
        searched = end - start
        if start > pending.startIndex {
            // Slices keep the old storage alive; copy them out before compacting.
            events = events.map { Event(bytes: ArraySlice(Array($0.bytes)), kind: $0.kind) }
            pending.removeSubrange(pending.startIndex..<start)
        }
        if pending.count > Self.maximumEventBytes { throw .eventTooLarge }
        return events
    }

    static func classify(_ event: ArraySlice<UInt8>) -> Kind {
        guard let data = ByteSearch.firstIndex(of: ByteSearch.dataPrefix, in: event) else { return .other }
        let payload = event[(data + ByteSearch.dataPrefix.count)...]
        // The Responses API names each event; its stream ends with a terminal
        // one (there is no `[DONE]`), whose `usage` holds the whole reply's counts.
        if event.starts(with: ByteSearch.eventPrefix) {
            let name = event[(event.startIndex + ByteSearch.eventPrefix.count)...].prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
            let trimmed = name.drop { $0 == UInt8(ascii: " ") }
            if ByteSearch.responsesFinished.contains(where: { trimmed.elementsEqual($0) }) {
                // Parsed, not scanned: the response repeats the client's tools
                // and schemas before its usage, and a client must not be able
                // to plant the counts it is charged for.
                return .finished(usage: TokenUsage(responsesReply: try? JSONText.decode(payload)))
            }
            if ByteSearch.responsesFailed.contains(where: { trimmed.elementsEqual($0) }) { return .error }
        }
        let trimmed = payload.drop { $0 == UInt8(ascii: " ") }
        if trimmed.starts(with: ByteSearch.doneMarker) { return .done }
        if trimmed.starts(with: ByteSearch.errorPrefix) { return .error }
        let usage = ByteSearch.containsAny(ByteSearch.usageObject, in: payload) ? TokenUsage(scanning: payload) : nil
        if let usage, ByteSearch.containsAny(ByteSearch.emptyChoices, in: payload) {
            return .usage(usage)
        }
        return .chunk(usage: usage, finishedByContentFilter: ByteSearch.containsAny(ByteSearch.contentFilterFinish, in: payload))
    }
}

public enum SplitterError: Error, Sendable {
    case eventTooLarge
}

/// Token counts of one reply.
///
/// Counts come from the upstream, so they are bounded where they are read:
/// whole numbers from 0 to ``maximumPerReply``. Anything else (`1e300`,
/// `-5`, twenty digits, a string) means the reply reported no usage.
public struct TokenUsage: Hashable, Sendable {
    public var promptTokens: Int
    public var completionTokens: Int

    /// The largest token count of one reply that is believed: 100 million,
    /// far beyond any model's context, small enough that sums never overflow.
    public static let maximumPerReply = 100_000_000

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// The counts in a parsed `usage` object, or `nil` when either is missing
    /// or out of bounds. `completion_tokens` may be derived from `total_tokens`.
    public init?(usage: JSONValue?) {
        guard let prompt = Self.count(usage?["prompt_tokens"]) else { return nil }
        if let completion = Self.count(usage?["completion_tokens"]) {
            self.init(promptTokens: prompt, completionTokens: completion)
        } else if let total = Self.count(usage?["total_tokens"]), total >= prompt {
            self.init(promptTokens: prompt, completionTokens: total - prompt)
        } else {
            return nil
        }
    }

    /// The usage of a Responses API reply — a response object, or an event
    /// carrying one under `response` — read from its own top-level `usage`.
    public init?(responsesReply value: JSONValue?) {
        let usage = value?["response"]?["usage"] ?? value?["usage"]
        guard let input = Self.count(usage?["input_tokens"]), let output = Self.count(usage?["output_tokens"]) else { return nil }
        self.init(promptTokens: input, completionTokens: output)
    }

    /// A token count from JSON: a whole number from 0 to ``maximumPerReply``.
    public static func count(_ value: JSONValue?) -> Int? {
        guard let number = value?.doubleValue, number >= 0, number <= Double(maximumPerReply), number == number.rounded(.down) else { return nil }
        return Int(number)
    }

    public var totalTokens: Int { promptTokens + completionTokens }

    /// Finds `"prompt_tokens": N` and `"completion_tokens": N` in raw JSON bytes
    /// without parsing the whole document; `nil` when either is missing.
    public init?(scanning bytes: some Collection<UInt8>) {
        self.init(scanning: ArraySlice(bytes))
    }

    /// The same over bytes already in an array: no copy.
    public init?(scanning array: ArraySlice<UInt8>) {
        let prompt: Int
        let completion: Int
        if let chatPrompt = ByteSearch.integer(after: ByteSearch.promptTokensKey, in: array) {
            prompt = chatPrompt
            if let chatCompletion = ByteSearch.integer(after: ByteSearch.completionTokensKey, in: array) {
                completion = chatCompletion
            } else if let total = ByteSearch.integer(after: ByteSearch.totalTokensKey, in: array), total >= chatPrompt {
                // Embeddings: input only.
                completion = total - chatPrompt
            } else {
                return nil
            }
        } else if let input = ByteSearch.integer(after: ByteSearch.inputTokensKey, in: array),
            let output = ByteSearch.integer(after: ByteSearch.outputTokensKey, in: array)
        {
            // The Responses API's names.
            prompt = input
            completion = output
        } else {
            return nil
        }
        guard prompt <= Self.maximumPerReply, completion <= Self.maximumPerReply else { return nil }
        self.init(promptTokens: prompt, completionTokens: completion)
    }
}

/// What the gateway reads from a whole non-streamed reply — token usage,
/// whether the content filter stopped it, its `id` — from one copy of its
/// bytes, without parsing it.
public struct ReplyFacts: Sendable {
    public let usage: TokenUsage?
    public let finishedByContentFilter: Bool
    public let id: String?

    public init(scanning bytes: some Collection<UInt8>) {
        let array = ArraySlice(bytes)
        usage = TokenUsage(scanning: array)
        finishedByContentFilter = ByteSearch.containsAny(ByteSearch.contentFilterFinish, in: array)
        id = ReplyScan.replyID(array)
    }

    /// A Responses API reply, parsed: it echoes the request's tools, schemas
    /// and metadata, so scanning could read counts the client wrote.
    public init(responsesReply bytes: some Collection<UInt8>) {
        let reply = try? JSONText.decode(bytes)
        usage = TokenUsage(responsesReply: reply)
        finishedByContentFilter = false
        id = reply?["id"]?.stringValue
    }
}

/// Facts read from a reply's raw bytes without parsing it.
public enum ReplyScan {
    /// A completion (or chunk) the provider's content filter stopped.
    public static func finishedByContentFilter(_ bytes: some Collection<UInt8>) -> Bool {
        ByteSearch.containsAny(ByteSearch.contentFilterFinish, in: ArraySlice(bytes))
    }

    /// The reply's own `"id"` (e.g. `chatcmpl-…`), found without parsing; the
    /// first `"id"` key of a completion is its top-level one.
    public static func replyID(_ bytes: some Collection<UInt8>) -> String? {
        replyID(ArraySlice(bytes))
    }

    static func replyID(_ haystack: ArraySlice<UInt8>) -> String? {
        for key in ByteSearch.idKeys {
            guard let found = ByteSearch.firstIndex(of: key, in: haystack) else { continue }
            var index = found + key.count
            let start = index
            while index < haystack.endIndex, haystack[index] != UInt8(ascii: "\""), haystack[index] != UInt8(ascii: "\\"), index - start < 200 {
                index += 1
            }
            guard index < haystack.endIndex, haystack[index] == UInt8(ascii: "\""), index > start else { return nil }
            return String(decoding: haystack[start..<index], as: UTF8.self)
        }
        return nil
    }

    /// Whether the bytes look like one whole JSON object: `{` first and `}`
    /// last, whitespace aside. Catches an empty or cut-off reply without
    /// parsing it (a full parse would double the cost of a reply).
    ///
    /// Inlinable so it is specialised for the caller's buffer view: generic,
    /// it cost 8 % of the gateway's CPU (metadata lookups, and a copy of the
    /// whole reply made by `Sequence.reversed()`).
    @inlinable
    public static func isWholeJSONObject<Bytes: BidirectionalCollection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        guard let first = bytes.firstIndex(where: { !isJSONWhitespace($0) }), let last = bytes.lastIndex(where: { !isJSONWhitespace($0) }),
            first != last
        else { return false }
        return bytes[first] == UInt8(ascii: "{") && bytes[last] == UInt8(ascii: "}")
    }

    @inlinable
    static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The response id a Responses API event carries (`response.created` and
    /// the like: `{"response": {"id": …}}`), parsed from the event's data —
    /// the response echoes the client's own JSON, which could hold an `"id"`.
    public static func responsesEventResponseID(_ event: some Collection<UInt8>) -> String? {
        let bytes = ArraySlice(event)
        guard let data = ByteSearch.firstIndex(of: ByteSearch.dataPrefix, in: bytes) else { return nil }
        var end = data + ByteSearch.dataPrefix.count
        while end < bytes.endIndex, bytes[end] != UInt8(ascii: "\n"), bytes[end] != UInt8(ascii: "\r") { end += 1 }
        let payload = bytes[(data + ByteSearch.dataPrefix.count)..<end]
        return (try? JSONText.decode(payload))?["response"]?["id"]?.stringValue
    }

    /// An error body whose code is `content_filter` (Azure's refusal of a prompt).
    public static func isContentFilterError(_ bytes: some Collection<UInt8>) -> Bool {
        ByteSearch.containsAny(ByteSearch.contentFilterCode, in: ArraySlice(bytes))
    }
}

/// Byte-level searches used on the streaming path.
enum ByteSearch {
    static let dataPrefix = Array("data:".utf8)
    static let eventPrefix = Array("event:".utf8)
    static let responsesFinished = [Array("response.completed".utf8), Array("response.incomplete".utf8)]
    static let responsesFailed = [Array("response.failed".utf8), Array("error".utf8)]
    static let doneMarker = Array("[DONE]".utf8)
    static let errorPrefix = Array("{\"error\"".utf8)
    static let emptyChoices = [Array("\"choices\":[]".utf8), Array("\"choices\": []".utf8)]
    static let usageObject = [Array("\"usage\":{".utf8), Array("\"usage\": {".utf8)]
    static let contentFilterCode = [Array("\"code\":\"content_filter\"".utf8), Array("\"code\": \"content_filter\"".utf8)]
    static let contentFilterFinish = [
        Array("\"finish_reason\":\"content_filter\"".utf8), Array("\"finish_reason\": \"content_filter\"".utf8),
    ]

    /// Whether any of the spellings (compact or with a space) occurs.
    static func containsAny(_ needles: [[UInt8]], in haystack: ArraySlice<UInt8>) -> Bool {
        needles.contains { firstIndex(of: $0, in: haystack) != nil }
    }
    static let idKeys = [Array("\"id\":\"".utf8), Array("\"id\": \"".utf8)]
    static let promptTokensKey = Array("\"prompt_tokens\":".utf8)
    static let completionTokensKey = Array("\"completion_tokens\":".utf8)
    static let totalTokensKey = Array("\"total_tokens\":".utf8)
    static let inputTokensKey = Array("\"input_tokens\":".utf8)
    static let outputTokensKey = Array("\"output_tokens\":".utf8)

    static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }

    /// The non-negative integer that follows `key` (spaces allowed in between);
    /// `nil` when it has more than 12 digits, a fraction or an exponent.
    static func integer(after key: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard let found = firstIndex(of: key, in: haystack) else { return nil }
        var index = found + key.count
        while index < haystack.endIndex, haystack[index] == UInt8(ascii: " ") { index += 1 }
        var value = 0
        var digits = 0
        while index < haystack.endIndex, haystack[index] >= UInt8(ascii: "0"), haystack[index] <= UInt8(ascii: "9"), digits < 12 {
            value = value * 10 + Int(haystack[index] - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        if index < haystack.endIndex {
            switch haystack[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return value
    }
}
