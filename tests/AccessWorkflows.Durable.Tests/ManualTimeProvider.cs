namespace AccessWorkflows.Durable.Tests;

/// <summary>
/// A clock that moves only when a test calls <see cref="Advance"/>. Timers created on it (the engine's durable
/// timer waits) fire during <see cref="Advance"/>, in due order, once the clock reaches them.
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(Func<TimeSpan, bool> Match, TaskCompletionSource Signal)> _timerWaiters = [];
    private DateTimeOffset _now = start;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2030, 1, 1, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? next;
            lock (_gate)
            {
                next = _timers.Where(t => t.DueAt <= target).MinBy(t => t.DueAt);
                if (next is null)
                {
                    _now = target;
                    return;
                }

                if (next.DueAt > _now)
                {
                    _now = next.DueAt;
                }

                next.Fired();
            }

            next.Callback(next.State);
        }
    }

    /// <summary>Completes when some live timer is due within <paramref name="maxDelay"/> of now: the engine is
    /// then asleep until a durable timer, and advancing the clock by that much wakes it.</summary>
    public Task WaitForTimerWithinAsync(TimeSpan maxDelay)
    {
        lock (_gate)
        {
            Func<TimeSpan, bool> match = delay => delay <= maxDelay;
            if (_timers.Any(t => match(t.DueAt - _now)))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _timerWaiters.Add((match, signal));
            return signal.Task;
        }
    }

    private void Schedule(ManualTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
            if (timer.DueAt == DateTimeOffset.MaxValue)
            {
                return;
            }

            _timers.Add(timer);
            for (var i = _timerWaiters.Count - 1; i >= 0; i--)
            {
                if (_timerWaiters[i].Match(timer.DueAt - _now))
                {
                    _timerWaiters[i].Signal.TrySetResult();
                    _timerWaiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public TimerCallback Callback => callback;

        public object? State => state;

        public DateTimeOffset DueAt { get; private set; } = DateTimeOffset.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            _period = period;
            DueAt = dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : owner.GetUtcNow() + dueTime;
            owner.Schedule(this);
            return true;
        }

        /// <summary>Called under the owner's lock when the clock reaches the timer.</summary>
        public void Fired()
        {
            owner._timers.Remove(this);
            if (_period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan)
            {
                DueAt += _period;
                owner._timers.Add(this);
            }
            else
            {
                DueAt = DateTimeOffset.MaxValue;
            }
        }

        public void Dispose() => Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
