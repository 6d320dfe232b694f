namespace AccessWorkflows.Durable;

/// <summary>
/// Retry policy of an activity call, as Durable Functions' <c>RetryPolicy</c>: the first attempt plus
/// retries up to <see cref="MaxNumberOfAttempts"/>, waiting <c>FirstRetryInterval * BackoffCoefficient^(n-1)</c>
/// (capped by <see cref="MaxRetryInterval"/>) between them, and giving up once <see cref="RetryTimeout"/> has
/// passed since the first attempt. Waits are durable timers: they survive a restart.
/// </summary>
public sealed class RetryPolicy
{
    public RetryPolicy(
        int maxNumberOfAttempts,
        TimeSpan firstRetryInterval,
        double backoffCoefficient = 1.0,
        TimeSpan? maxRetryInterval = null,
        TimeSpan? retryTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNumberOfAttempts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstRetryInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(backoffCoefficient, 1.0);
        MaxNumberOfAttempts = maxNumberOfAttempts;
        FirstRetryInterval = firstRetryInterval;
        BackoffCoefficient = backoffCoefficient;
        MaxRetryInterval = maxRetryInterval ?? TimeSpan.FromHours(1);
        RetryTimeout = retryTimeout ?? Timeout.InfiniteTimeSpan;
    }

    public int MaxNumberOfAttempts { get; }

    public TimeSpan FirstRetryInterval { get; }

    public double BackoffCoefficient { get; }

    public TimeSpan MaxRetryInterval { get; }

    /// <summary>Total time after the first attempt during which retries may start; infinite by default.</summary>
    public TimeSpan RetryTimeout { get; }

    /// <summary>Decides whether a failure is worth retrying; all failures are when null.</summary>
    public Func<TaskFailureDetails, bool>? HandleFailure { get; set; }

    /// <summary>The delay before retry number <paramref name="retryNumber"/> (1 for the first retry).</summary>
    public TimeSpan DelayBeforeRetry(int retryNumber)
    {
        var ticks = FirstRetryInterval.Ticks * Math.Pow(BackoffCoefficient, retryNumber - 1);
        return ticks >= MaxRetryInterval.Ticks ? MaxRetryInterval : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>Retry options of a task; converts implicitly from a <see cref="RetryPolicy"/>, as in Durable Functions.</summary>
public sealed class TaskRetryOptions
{
    public TaskRetryOptions(RetryPolicy policy) => Policy = policy;

    public RetryPolicy Policy { get; }

    public static implicit operator TaskRetryOptions(RetryPolicy policy) => new(policy);
}

/// <summary>Options of an activity call.</summary>
public class TaskOptions
{
    public TaskOptions(TaskRetryOptions? retry = null, IDictionary<string, string>? tags = null)
    {
        Retry = retry;
        Tags = tags is null ? new Dictionary<string, string>() : new Dictionary<string, string>(tags);
    }

    public TaskRetryOptions? Retry { get; }

    public IDictionary<string, string> Tags { get; }

    public static TaskOptions FromRetryPolicy(RetryPolicy policy) => new(policy);
}
