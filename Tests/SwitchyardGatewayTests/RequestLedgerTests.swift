import Testing
@testable import SwitchyardGateway

@Suite("The request ledger credits feedback to deployments")
struct RequestLedgerTests {
    @Test func recentIdsAreFoundAndTheOldestForgotten() {
        let ledger = RequestLedger(capacity: 3)
        ledger.record("chatcmpl-1", route: "chat-prod", deployment: "stable")
        ledger.record("chatcmpl-2", route: "chat-prod", deployment: "canary")
        ledger.record("chatcmpl-3", route: "summarize", deployment: "mini")
        #expect(ledger.lookup("chatcmpl-2")! == ("chat-prod", "canary"))
        ledger.record("chatcmpl-4", route: "chat-prod", deployment: "stable")
        #expect(ledger.lookup("chatcmpl-1") == nil, "the oldest is forgotten")
        #expect(ledger.lookup("chatcmpl-3")! == ("summarize", "mini"))
        #expect(ledger.lookup("chatcmpl-4")! == ("chat-prod", "stable"))
        #expect(ledger.lookup("never-seen") == nil)
    }
}
