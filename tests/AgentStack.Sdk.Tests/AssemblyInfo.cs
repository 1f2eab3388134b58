// Activity listeners are process-wide: an AgentStackClient in one test would also export another test's
// spans, and the server-down test counts drops. Test classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
