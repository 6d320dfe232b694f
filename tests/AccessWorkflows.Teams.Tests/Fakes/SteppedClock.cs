namespace AccessWorkflows.Teams.Tests.Fakes;

/// <summary>A clock that moves only when a test moves it.</summary>
internal sealed class SteppedClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
