namespace AccessWorkflows.Slack.Tests.Fakes;

/// <summary>Wall-clock time shifted by an offset a test moves, so a request signed "now" can be replayed later.</summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
